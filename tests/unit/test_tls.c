/*
 * test_tls.c - unit tests for src/security/tls.h without a network: file
 * validation errors of amaters_tls_create() (missing, garbage and mismatched
 * files, a CA needed, CRLs not of the bundle), a CA directory (*.pem and *.crt
 * appended, other files ignored), and the client-certificate policy on PEM
 * input (revoked, organization not allowed, SAN-only subjects, verify_cn off).
 * The throw-away PKI and the fixture are in tls_fixture.h; the mTLS policy
 * through a real gRPC server and certificate rotation are tested in
 * test_tls_mtls.c.
 */
#include "tls_fixture.h"

#include <sys/stat.h>

/* ---- File validation ---- */

static void test_create_validates_files(void **state)
{
    static const struct {
        const char *cert, *key, *ca, *crl;
        bool require;
        int rv;
        const char *err_has; /* expected in the message */
    } cases[] = {
        {"srv1.crt", "srv1.key", "ca.pem", "crl.pem", true, 0, ""},
        {"srv1.crt", "srv1.key", "", "", false, 0, ""},
        {"missing.crt", "srv1.key", "", "", false, AMATERS_EIO,
         "missing.crt: cannot read"},
        {"garbage.pem", "srv1.key", "", "", false, AMATERS_EPARSE,
         "garbage.pem: no PEM certificate"},
        {"srv1.crt", "garbage.pem", "", "", false, AMATERS_EPARSE,
         "garbage.pem: no unencrypted PEM private key"},
        {"srv1.crt", "srv2.key", "", "", false, AMATERS_ECONFIG,
         "srv2.key: private key does not match the certificate"},
        {"srv1.crt", "srv1.key", "garbage.pem", "", false, AMATERS_EPARSE,
         "garbage.pem: no PEM certificate"},
        {"srv1.crt", "srv1.key", "", "", true, AMATERS_ECONFIG,
         "require_client_cert needs a CA"},
        {"srv1.crt", "srv1.key", "ca.pem", "garbage.pem", true,
         AMATERS_EPARSE, "garbage.pem: no PEM CRL"},
        {"srv1.crt", "srv1.key", "ca.pem", "crl2.pem", true,
         AMATERS_ECONFIG, "crl2.pem: CRL of /O=Elsewhere/CN=Other CA is "
                          "not signed by a CA of the bundle"},
        {"srv1.crt", "srv1.key", "ca.pem", "missing.pem", false,
         AMATERS_EIO, "missing.pem: cannot read"},
    };
    (void)state;

    write_pair("srv2.crt", "srv2.key", &pki.srv2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct opt_bufs b;
        struct amaters_tls_options o =
            make_opts(&b, cases[i].cert, cases[i].key, cases[i].ca,
                      cases[i].crl, cases[i].require);
        struct amaters_tls *t = (struct amaters_tls *)&b; /* not NULL */
        char err[512] = "";
        int rv = amaters_tls_create(&o, &t, err, sizeof err);
        if (rv != cases[i].rv || strstr(err, cases[i].err_has) == NULL)
            fail_msg("case %zu: rv %d (want %d), err \"%s\"", i, rv,
                     cases[i].rv, err);
        if (rv == 0)
            assert_non_null(t);
        else
            assert_null(t);
        amaters_tls_free(t);
    }
}

/* ca_certs_dir: every *.pem / *.crt is appended; other files ignored. */
static void test_create_ca_dir(void **state)
{
    char dir[256], path[300], err[512] = "";
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "", "crl2.pem", true);
    struct amaters_tls *t = NULL;
    (void)state;

    path_of("cas", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    o.ca_dir = dir;
    /* empty directory: no CA */
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err),
                     AMATERS_ECONFIG);
    assert_non_null(strstr(err, "no *.pem or *.crt CA file"));
    write_file("cas/one.pem", pki.ca.cert_pem);
    write_file("cas/two.crt", pki.ca2.cert_pem);
    write_file("cas/notes.txt", "not a certificate\n");
    /* crl2 is signed by ca2, which only the directory provides */
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    amaters_tls_free(t);
    write_file("cas/bad.pem", "garbage\n");
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err),
                     AMATERS_EPARSE);
    assert_non_null(strstr(err, "cas/bad.pem: no PEM certificate"));
    assert_null(t);
    unlink(path_of("cas/one.pem", path, sizeof path));
    unlink(path_of("cas/two.crt", path, sizeof path));
    unlink(path_of("cas/notes.txt", path, sizeof path));
    unlink(path_of("cas/bad.pem", path, sizeof path));
    assert_int_equal(rmdir(dir), 0);
}

/* The client-certificate policy on PEM input, without a network. */
static void test_cert_principal(void **state)
{
    const struct {
        const char *pem;
        int rv;
        const char *expect; /* subject, or the reason */
    } cases[] = {
        {pki.alice.cert_pem, 0, "alice"},
        {pki.mallory.cert_pem, AMATERS_EAUTH, "client certificate revoked"},
        {pki.evil.cert_pem, AMATERS_EAUTH, "organization not allowed"},
        {pki.bob.cert_pem, 0, "bob.example"},
        /* same serial as mallory, other issuer: not revoked */
        {pki.ca2_twin.cert_pem, 0, "twin"},
        {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         AMATERS_EAUTH, "bad client certificate"},
    };
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "ca.pem", "crl.pem", true);
    struct amaters_tls *t = NULL;
    char err[512] = "";
    (void)state;

    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_principal p;
        char why[128] = "";
        int rv = amaters_tls_cert_principal(t, cases[i].pem,
                                            strlen(cases[i].pem), &p, why,
                                            sizeof why);
        assert_int_equal(rv, cases[i].rv);
        if (rv == 0) {
            assert_string_equal(p.subject, cases[i].expect);
            assert_string_equal(p.method, "mtls");
            assert_int_equal(p.nroles, 0);
        } else {
            assert_null(p.subject);
            assert_string_equal(why, cases[i].expect);
        }
        amaters_principal_free(&p);
    }
    amaters_tls_free(t);

    /* auth.mtls.verify_cn = false: only SANs name the principal, so a
     * client certificate with a CN but no SAN names nobody. */
    t = NULL;
    o.ignore_cn = true;
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    struct amaters_principal p;
    char why[128] = "";
    assert_int_equal(amaters_tls_cert_principal(t, pki.bob.cert_pem,
                                                strlen(pki.bob.cert_pem), &p,
                                                why, sizeof why),
                     0);
    assert_string_equal(p.subject, "bob.example");
    amaters_principal_free(&p);
    assert_int_equal(amaters_tls_cert_principal(t, pki.alice.cert_pem,
                                                strlen(pki.alice.cert_pem),
                                                &p, why, sizeof why),
                     AMATERS_EAUTH);
    assert_string_equal(why, "bad client certificate");
    amaters_tls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_create_validates_files),
        LEAK_TEST(test_create_ca_dir),
        LEAK_TEST(test_cert_principal),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
