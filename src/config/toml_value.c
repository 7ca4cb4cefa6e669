/*
 * toml_value.c - the TOML value tree: construction, lookup and freeing.
 *
 * Tables keep their entries in insertion order in a vector; once a table
 * has more than a few keys an open-addressing hash index (entry number + 1,
 * 0 = empty slot) is kept beside the vector so that documents with many
 * keys in one table parse in linear time.
 */
#include "config/toml_internal.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <string.h>

#define INDEX_MIN_COUNT 8

struct amaters_toml_value *toml_value_new(enum amaters_toml_type type,
                                          int line, int col)
{
    struct amaters_toml_value *v = amaters_calloc(1, sizeof(*v));

    if (v == NULL)
        return NULL;
    v->type = type;
    v->line = line;
    v->col = col;
    return v;
}

void amaters_toml_free(struct amaters_toml_value *v)
{
    size_t i;

    if (v == NULL)
        return;
    switch (v->type) {
    case AMATERS_TOML_STRING:
        /* Configuration files hold secrets: wipe every string. */
        if (v->u.string.ptr != NULL)
            amaters_free_secret(v->u.string.ptr, v->u.string.len);
        break;
    case AMATERS_TOML_ARRAY:
        for (i = 0; i < v->u.array.count; i++)
            amaters_toml_free(v->u.array.items[i]);
        amaters_free(v->u.array.items);
        break;
    case AMATERS_TOML_TABLE:
        for (i = 0; i < v->u.table.count; i++) {
            amaters_free(v->u.table.entries[i].key);
            amaters_toml_free(v->u.table.entries[i].value);
        }
        amaters_free(v->u.table.entries);
        amaters_free(v->u.table.index);
        break;
    default:
        break;
    }
    amaters_free(v);
}

static size_t hash_key(const char *key, size_t len)
{
    size_t h = 1469598103934665603u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211u;
    }
    return h;
}

static int key_equal(const struct amaters_toml_entry *e, const char *key,
                     size_t len)
{
    return e->key_len == len && memcmp(e->key, key, len) == 0;
}

/* Puts entry number n (0-based) into the index; the index has room. */
static void index_put(struct amaters_toml_value *t, size_t n)
{
    const struct amaters_toml_entry *e = &t->u.table.entries[n];
    size_t mask = t->u.table.index_cap - 1;
    size_t slot = hash_key(e->key, e->key_len) & mask;

    while (t->u.table.index[slot] != 0)
        slot = (slot + 1) & mask;
    t->u.table.index[slot] = n + 1;
}

/* Rebuilds the index with at least four slots per two entries. */
static int index_rebuild(struct amaters_toml_value *t)
{
    size_t cap = 16;
    size_t *idx;
    size_t i;

    while (cap < t->u.table.count * 2 + 2)
        cap *= 2;
    idx = amaters_calloc(cap, sizeof(*idx));
    if (idx == NULL)
        return AMATERS_ENOMEM;
    amaters_free(t->u.table.index);
    t->u.table.index = idx;
    t->u.table.index_cap = cap;
    for (i = 0; i < t->u.table.count; i++)
        index_put(t, i);
    return 0;
}

struct amaters_toml_value *toml_table_find(const struct amaters_toml_value *t,
                                           const char *key, size_t len)
{
    size_t mask, slot, i;

    if (t == NULL || t->type != AMATERS_TOML_TABLE)
        return NULL;
    if (t->u.table.index == NULL) {
        for (i = 0; i < t->u.table.count; i++) {
            if (key_equal(&t->u.table.entries[i], key, len))
                return t->u.table.entries[i].value;
        }
        return NULL;
    }
    mask = t->u.table.index_cap - 1;
    slot = hash_key(key, len) & mask;
    while (t->u.table.index[slot] != 0) {
        const struct amaters_toml_entry *e =
            &t->u.table.entries[t->u.table.index[slot] - 1];
        if (key_equal(e, key, len))
            return e->value;
        slot = (slot + 1) & mask;
    }
    return NULL;
}

static int table_reserve(struct amaters_toml_value *t)
{
    struct amaters_toml_entry *e;
    size_t cap;

    if (t->u.table.count < t->u.table.cap)
        return 0;
    cap = t->u.table.cap ? t->u.table.cap * 2 : 4;
    e = amaters_realloc(t->u.table.entries, cap * sizeof(*e));
    if (e == NULL)
        return AMATERS_ENOMEM;
    t->u.table.entries = e;
    t->u.table.cap = cap;
    return 0;
}

int toml_table_add(struct amaters_toml_value *t, const char *key, size_t len,
                   struct amaters_toml_value *v)
{
    struct amaters_toml_entry *e;
    char *copy;
    int rv;

    rv = table_reserve(t);
    if (rv != 0)
        return rv;
    copy = amaters_memdup(key, len);
    if (copy == NULL)
        return AMATERS_ENOMEM;
    e = &t->u.table.entries[t->u.table.count];
    e->key = copy;
    e->key_len = len;
    e->value = v;
    t->u.table.count++;
    if (t->u.table.index != NULL &&
        t->u.table.count * 2 + 2 <= t->u.table.index_cap) {
        index_put(t, t->u.table.count - 1);
        return 0;
    }
    if (t->u.table.count < INDEX_MIN_COUNT)
        return 0;
    rv = index_rebuild(t);
    if (rv != 0) {
        /* Undo the add (the caller still owns v); the old index, if any,
         * is intact because index_rebuild() replaces it only on success. */
        t->u.table.count--;
        amaters_free(copy);
        return rv;
    }
    return 0;
}

int toml_array_push(struct amaters_toml_value *a,
                    struct amaters_toml_value *v)
{
    struct amaters_toml_value **items;
    size_t cap;

    if (a->u.array.count == a->u.array.cap) {
        cap = a->u.array.cap ? a->u.array.cap * 2 : 4;
        items = amaters_realloc(a->u.array.items, cap * sizeof(*items));
        if (items == NULL)
            return AMATERS_ENOMEM;
        a->u.array.items = items;
        a->u.array.cap = cap;
    }
    a->u.array.items[a->u.array.count++] = v;
    return 0;
}

const struct amaters_toml_value *
amaters_toml_table_get(const struct amaters_toml_value *table,
                       const char *key)
{
    if (key == NULL)
        return NULL;
    return toml_table_find(table, key, strlen(key));
}

size_t amaters_toml_table_count(const struct amaters_toml_value *table)
{
    if (table == NULL || table->type != AMATERS_TOML_TABLE)
        return 0;
    return table->u.table.count;
}

const struct amaters_toml_value *
amaters_toml_table_at(const struct amaters_toml_value *table, size_t i,
                      const char **key, size_t *key_len)
{
    const struct amaters_toml_entry *e;

    if (i >= amaters_toml_table_count(table))
        return NULL;
    e = &table->u.table.entries[i];
    if (key != NULL)
        *key = e->key;
    if (key_len != NULL)
        *key_len = e->key_len;
    return e->value;
}

size_t amaters_toml_array_count(const struct amaters_toml_value *array)
{
    if (array == NULL || array->type != AMATERS_TOML_ARRAY)
        return 0;
    return array->u.array.count;
}

const struct amaters_toml_value *
amaters_toml_array_at(const struct amaters_toml_value *array, size_t i)
{
    if (i >= amaters_toml_array_count(array))
        return NULL;
    return array->u.array.items[i];
}

const char *amaters_toml_type_name(enum amaters_toml_type type)
{
    switch (type) {
    case AMATERS_TOML_TABLE:
        return "table";
    case AMATERS_TOML_ARRAY:
        return "array";
    case AMATERS_TOML_STRING:
        return "string";
    case AMATERS_TOML_INTEGER:
        return "integer";
    case AMATERS_TOML_FLOAT:
        return "float";
    case AMATERS_TOML_BOOLEAN:
        return "boolean";
    case AMATERS_TOML_OFFSET_DATETIME:
        return "offset date-time";
    case AMATERS_TOML_LOCAL_DATETIME:
        return "local date-time";
    case AMATERS_TOML_LOCAL_DATE:
        return "local date";
    case AMATERS_TOML_LOCAL_TIME:
        return "local time";
    }
    return "unknown";
}
