/*
 * test_engine_lsm_perms.c - unit tests of who may read what the "lsm"
 * engine (src/storage/engine_rocks.c) writes to disk: the WAL holds every
 * value written, so its directory (storage.wal.dir, which may be an
 * absolute path outside the data directory) is created 0700 like lsm/,
 * whatever the umask, and no file in it is reachable by other users. An
 * existing WAL directory is used as it is.
 *
 * The fixture (scratch directory, leak check) is in lsm_fixture.h.
 * Expected modes come from the task's security rule (data directory
 * private to the owner, WAL never readable by others), not from the code.
 */
#include "lsm_fixture.h"

#include <unistd.h>

/* Mode bits (permissions only) of path; fails the test when it is
 * missing. */
static unsigned mode_of(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        fail_msg("stat %s failed", path);
    return (unsigned)(st.st_mode & 07777);
}

/* True when other users can read some file below dir: dir (and every
 * directory on the way) searchable by others and the file readable by
 * others. Only dir's own entries are looked at (RocksDB's WAL directory
 * is flat). */
static bool others_can_read_a_file(const char *dir)
{
    char path[512];
    struct dirent *de;
    bool readable = false;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if ((mode_of(dir) & 01) && (mode_of(path) & 04))
            readable = true;
    }
    closedir(d);
    return readable;
}

/* An absolute WAL directory elsewhere, created by the engine: 0700 even
 * under a permissive umask, and holding the WAL once a value is written. */
static void test_new_wal_dir_is_private(void **state)
{
    struct fx *f = *state;
    char parent[160], wal[192], lsm[160];
    mode_t old = umask(022);

    snprintf(parent, sizeof parent, "%s/elsewhere", f->dir);
    assert_int_equal(mkdir(parent, 0755), 0);
    snprintf(wal, sizeof wal, "%s/wal", parent);
    snprintf(lsm, sizeof lsm, "%s/lsm", f->dir);
    f->opts.wal_dir = wal;
    open_ok(f);
    assert_int_equal(put(f->e, "k", "secret value", 12), 0);
    umask(old);

    assert_int_equal(mode_of(wal), 0700);
    assert_int_equal(mode_of(lsm), 0700);
    assert_false(others_can_read_a_file(wal));
    /* Reopening keeps it so, and the value is still there. */
    reopen(f);
    assert_int_equal(mode_of(wal), 0700);
    check_value(f->e, "k", "secret value", 12);
}

/* A relative WAL directory (relative to the working directory, as the
 * server passes <data_dir>/wal) is private too. */
static void test_relative_wal_dir_is_private(void **state)
{
    struct fx *f = *state;
    char cwd[PATH_MAX], wal[160];
    mode_t old = umask(0);

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    snprintf(wal, sizeof wal, "%s/wal", f->dir);
    f->opts.wal_dir = "wal";
    open_ok(f);
    assert_int_equal(put(f->e, "k", "v", 1), 0);
    umask(old);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(mode_of(wal), 0700);
}

/* A WAL directory the operator made is used with the mode they gave it;
 * a missing parent is an error naming the directory. */
static void test_existing_and_unreachable_wal_dir(void **state)
{
    struct fx *f = *state;
    char wal[160], err[512] = "";

    snprintf(wal, sizeof wal, "%s/mine", f->dir);
    assert_int_equal(mkdir(wal, 0750), 0);
    assert_int_equal(chmod(wal, 0750), 0);
    f->opts.wal_dir = wal;
    open_ok(f);
    assert_int_equal(put(f->e, "k", "v", 1), 0);
    assert_int_equal(mode_of(wal), 0750);
    amaters_engine_close(f->e);
    f->e = NULL;

    snprintf(wal, sizeof wal, "%s/no/such/wal", f->dir);
    f->opts.wal_dir = wal;
    assert_int_equal(open_rc(f, err, sizeof err), AMATERS_EIO);
    assert_non_null(strstr(err, wal));
    f->e = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_wal_dir_is_private, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relative_wal_dir_is_private,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_existing_and_unreachable_wal_dir, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
