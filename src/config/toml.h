/*
 * toml.h - a TOML 1.0 parser of our own.
 *
 * amaters_toml_parse() turns a TOML document into a tree of
 * struct amaters_toml_value: tables keep their keys in insertion order,
 * arrays are vectors, every value remembers the line and column where it
 * starts (and where its key was written). Everything TOML 1.0 allows is
 * accepted: all four string forms with every escape, integers in four
 * bases with underscores, floats with inf/nan, booleans, offset and local
 * date-times, local dates and times, inline tables, arrays of tables,
 * dotted keys. Everything TOML 1.0 forbids is rejected with an error message
 * of the form "FILE:LINE:COL: message" (FILE is the name the caller gave,
 * or "<string>"). Lines and columns start at 1; columns count Unicode
 * characters. Input must be UTF-8; a leading byte order mark is skipped.
 * Nesting is bounded (AMATERS_TOML_MAX_DEPTH) so hostile input cannot blow
 * the stack.
 *
 * Threads: the parser has no global state; any thread may parse. A parsed
 * tree is immutable to readers and may be shared by threads that only read
 * it.
 */
#ifndef AMATERS_CONFIG_TOML_H
#define AMATERS_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of tables and arrays a document may have. */
#define AMATERS_TOML_MAX_DEPTH 128

/* Largest file amaters_toml_parse_file() reads, in bytes. */
#define AMATERS_TOML_MAX_FILE (64u * 1024u * 1024u)

enum amaters_toml_type {
    AMATERS_TOML_TABLE = 1,
    AMATERS_TOML_ARRAY,
    AMATERS_TOML_STRING,
    AMATERS_TOML_INTEGER,
    AMATERS_TOML_FLOAT,
    AMATERS_TOML_BOOLEAN,
    AMATERS_TOML_OFFSET_DATETIME,
    AMATERS_TOML_LOCAL_DATETIME,
    AMATERS_TOML_LOCAL_DATE,
    AMATERS_TOML_LOCAL_TIME,
};

/*
 * The four date/time types share one representation. Fields that a type
 * does not have are 0 (a local date has no hour, a local time no year).
 * Fractions of a second beyond nanoseconds are truncated.
 */
struct amaters_toml_datetime {
    int year, month, day;
    int hour, minute, second;
    int nanosecond;
    int offset_minutes; /* offset date-times only: east of UTC; Z is 0 */
};

/* One key of a table. key is NUL-terminated; key_len counts its bytes
 * (a quoted key may itself contain NUL, written as \u0000). */
struct amaters_toml_entry {
    char *key;
    size_t key_len;
    struct amaters_toml_value *value;
};

struct amaters_toml_value {
    enum amaters_toml_type type;
    int line, col;         /* where the value starts */
    int key_line, key_col; /* where its key is first written; 0 if none */
    unsigned flags;        /* parser bookkeeping; readers ignore it */
    int section;           /* parser bookkeeping; readers ignore it */
    union {
        /* NUL-terminated; len counts bytes (an escaped \u0000 may occur
         * inside, so compare len with strlen() to detect one). */
        struct {
            char *ptr;
            size_t len;
        } string;
        int64_t integer;
        double floating;
        bool boolean;
        struct amaters_toml_datetime datetime;
        struct {
            struct amaters_toml_value **items;
            size_t count, cap;
        } array;
        struct {
            struct amaters_toml_entry *entries; /* insertion order */
            size_t count, cap;
            size_t *index; /* hash of entry numbers + 1; NULL when small */
            size_t index_cap;
        } table;
    } u;
};

/*
 * Parses len bytes of text (which need not be NUL-terminated). filename
 * names the text in error messages; NULL means "<string>". On success
 * returns 0 and stores the root table in *root; the caller owns it and
 * releases it with amaters_toml_free(). On failure returns AMATERS_EPARSE
 * (or AMATERS_ENOMEM), leaves *root NULL and writes
 * "FILE:LINE:COL: message" into err (truncated to errlen; err may be NULL
 * when errlen is 0).
 */
int amaters_toml_parse(const char *text, size_t len, const char *filename,
                       struct amaters_toml_value **root, char *err,
                       size_t errlen);

/*
 * Reads the file at path and parses it as amaters_toml_parse() does, with
 * path as the file name in messages. A file that cannot be read gives
 * AMATERS_EIO and "PATH: cannot read: <errno text>"; a file larger than
 * AMATERS_TOML_MAX_FILE gives AMATERS_ETOOBIG. The caller owns *root.
 */
int amaters_toml_parse_file(const char *path,
                            struct amaters_toml_value **root, char *err,
                            size_t errlen);

/* Frees v and everything below it, overwriting strings first (a config
 * file may hold secrets). NULL is ignored. */
void amaters_toml_free(struct amaters_toml_value *v);

/*
 * Returns the value stored under key in table, or NULL when table is NULL,
 * is not a table or has no such key. The result is owned by the tree.
 */
const struct amaters_toml_value *
amaters_toml_table_get(const struct amaters_toml_value *table,
                       const char *key);

/* Returns the number of keys of table (0 when table is not a table). */
size_t amaters_toml_table_count(const struct amaters_toml_value *table);

/*
 * Returns the i-th value of table in insertion order (NULL when i is out of
 * range or table is not a table) and, when key is not NULL, its key in
 * *key (and its length in *key_len when that is not NULL). Both are owned
 * by the tree.
 */
const struct amaters_toml_value *
amaters_toml_table_at(const struct amaters_toml_value *table, size_t i,
                      const char **key, size_t *key_len);

/* Returns the number of elements of array (0 when array is not an array). */
size_t amaters_toml_array_count(const struct amaters_toml_value *array);

/* Returns the i-th element of array, or NULL when out of range or array is
 * not an array. The result is owned by the tree. */
const struct amaters_toml_value *
amaters_toml_array_at(const struct amaters_toml_value *array, size_t i);

/* Returns the length of the longest prefix of s[0..len) that is valid
 * UTF-8 (len when all of it is). Overlong forms, surrogates and values
 * above U+10FFFF are invalid. */
size_t amaters_toml_utf8_prefix(const char *s, size_t len);

/* Returns a static English name for type ("string", "integer",
 * "offset date-time", ...). */
const char *amaters_toml_type_name(enum amaters_toml_type type);

#endif
