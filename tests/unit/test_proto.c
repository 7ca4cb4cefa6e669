/*
 * test_proto.c - the generated protobuf-c descriptors carry exactly the
 * package, message, field numbers and enum values of the AmateRS contract
 * (shared/spec/protocol.md). The expected table below is transcribed from
 * the spec, not from the .proto files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aql.pb-c.h"
#include "errors.pb-c.h"
#include "query.pb-c.h"
#include "types.pb-c.h"

struct field_case {
    const ProtobufCMessageDescriptor *msg;
    const char *full_name;
    const char *field;
    unsigned number;
    ProtobufCType type;
};

#define T(x) PROTOBUF_C_TYPE_##x
static const struct field_case fields[] = {
    {&amaters__aql__query_request__descriptor, "amaters.aql.QueryRequest", "query", 1, T(MESSAGE)},
    {&amaters__aql__query_request__descriptor, "amaters.aql.QueryRequest", "request_id", 2, T(STRING)},
    {&amaters__aql__query_request__descriptor, "amaters.aql.QueryRequest", "timeout_ms", 3, T(UINT32)},
    {&amaters__aql__query_request__descriptor, "amaters.aql.QueryRequest", "transaction_id", 4, T(STRING)},
    {&amaters__aql__query_request__descriptor, "amaters.aql.QueryRequest", "version", 5, T(MESSAGE)},
    {&amaters__aql__query_response__descriptor, "amaters.aql.QueryResponse", "result", 1, T(MESSAGE)},
    {&amaters__aql__query_response__descriptor, "amaters.aql.QueryResponse", "error", 2, T(MESSAGE)},
    {&amaters__aql__query_response__descriptor, "amaters.aql.QueryResponse", "request_id", 3, T(STRING)},
    {&amaters__aql__query_response__descriptor, "amaters.aql.QueryResponse", "execution_time_ms", 4, T(UINT64)},
    {&amaters__aql__batch_request__descriptor, "amaters.aql.BatchRequest", "queries", 1, T(MESSAGE)},
    {&amaters__aql__batch_request__descriptor, "amaters.aql.BatchRequest", "request_id", 2, T(STRING)},
    {&amaters__aql__batch_request__descriptor, "amaters.aql.BatchRequest", "timeout_ms", 3, T(UINT32)},
    {&amaters__aql__batch_request__descriptor, "amaters.aql.BatchRequest", "isolation_level", 4, T(ENUM)},
    {&amaters__aql__batch_request__descriptor, "amaters.aql.BatchRequest", "version", 5, T(MESSAGE)},
    {&amaters__aql__batch_response__descriptor, "amaters.aql.BatchResponse", "results", 1, T(MESSAGE)},
    {&amaters__aql__batch_response__descriptor, "amaters.aql.BatchResponse", "error", 2, T(MESSAGE)},
    {&amaters__aql__batch_response__descriptor, "amaters.aql.BatchResponse", "request_id", 3, T(STRING)},
    {&amaters__aql__batch_response__descriptor, "amaters.aql.BatchResponse", "execution_time_ms", 4, T(UINT64)},
    {&amaters__aql__batch_result__descriptor, "amaters.aql.BatchResult", "results", 1, T(MESSAGE)},
    {&amaters__aql__stream_response__descriptor, "amaters.aql.StreamResponse", "value", 1, T(MESSAGE)},
    {&amaters__aql__stream_response__descriptor, "amaters.aql.StreamResponse", "error", 2, T(MESSAGE)},
    {&amaters__aql__stream_response__descriptor, "amaters.aql.StreamResponse", "end", 3, T(MESSAGE)},
    {&amaters__aql__stream_response__descriptor, "amaters.aql.StreamResponse", "sequence", 4, T(UINT64)},
    {&amaters__aql__stream_response__descriptor, "amaters.aql.StreamResponse", "batch", 5, T(MESSAGE)},
    {&amaters__aql__stream_batch__descriptor, "amaters.aql.StreamBatch", "values", 1, T(MESSAGE)},
    {&amaters__aql__stream_batch__descriptor, "amaters.aql.StreamBatch", "has_more", 2, T(BOOL)},
    {&amaters__aql__stream_end__descriptor, "amaters.aql.StreamEnd", "total_count", 1, T(UINT64)},
    {&amaters__aql__health_check_request__descriptor, "amaters.aql.HealthCheckRequest", "service", 1, T(STRING)},
    {&amaters__aql__health_check_response__descriptor, "amaters.aql.HealthCheckResponse", "status", 1, T(ENUM)},
    {&amaters__aql__health_check_response__descriptor, "amaters.aql.HealthCheckResponse", "message", 2, T(STRING)},
    {&amaters__aql__server_info_response__descriptor, "amaters.aql.ServerInfoResponse", "version", 1, T(MESSAGE)},
    {&amaters__aql__server_info_response__descriptor, "amaters.aql.ServerInfoResponse", "supported_versions", 2, T(MESSAGE)},
    {&amaters__aql__server_info_response__descriptor, "amaters.aql.ServerInfoResponse", "capabilities", 3, T(STRING)},
    {&amaters__aql__server_info_response__descriptor, "amaters.aql.ServerInfoResponse", "uptime_seconds", 4, T(UINT64)},
    {&amaters__query__query__descriptor, "amaters.query.Query", "get", 1, T(MESSAGE)},
    {&amaters__query__query__descriptor, "amaters.query.Query", "set", 2, T(MESSAGE)},
    {&amaters__query__query__descriptor, "amaters.query.Query", "delete", 3, T(MESSAGE)},
    {&amaters__query__query__descriptor, "amaters.query.Query", "filter", 4, T(MESSAGE)},
    {&amaters__query__query__descriptor, "amaters.query.Query", "update", 5, T(MESSAGE)},
    {&amaters__query__query__descriptor, "amaters.query.Query", "range", 6, T(MESSAGE)},
    /* collection is `string` on the wire; compiled as bytes (same wire
     * type 2) so the C server sees exact lengths. */
    {&amaters__query__get_query__descriptor, "amaters.query.GetQuery", "collection", 1, T(BYTES)},
    {&amaters__query__get_query__descriptor, "amaters.query.GetQuery", "key", 2, T(MESSAGE)},
    {&amaters__query__set_query__descriptor, "amaters.query.SetQuery", "collection", 1, T(BYTES)},
    {&amaters__query__set_query__descriptor, "amaters.query.SetQuery", "key", 2, T(MESSAGE)},
    {&amaters__query__set_query__descriptor, "amaters.query.SetQuery", "value", 3, T(MESSAGE)},
    {&amaters__query__delete_query__descriptor, "amaters.query.DeleteQuery", "key", 2, T(MESSAGE)},
    {&amaters__query__filter_query__descriptor, "amaters.query.FilterQuery", "predicate", 2, T(MESSAGE)},
    {&amaters__query__filter_query__descriptor, "amaters.query.FilterQuery", "limit", 3, T(UINT32)},
    {&amaters__query__filter_query__descriptor, "amaters.query.FilterQuery", "offset", 4, T(UINT32)},
    {&amaters__query__update_query__descriptor, "amaters.query.UpdateQuery", "updates", 3, T(MESSAGE)},
    {&amaters__query__range_query__descriptor, "amaters.query.RangeQuery", "start", 2, T(MESSAGE)},
    {&amaters__query__range_query__descriptor, "amaters.query.RangeQuery", "end", 3, T(MESSAGE)},
    {&amaters__query__range_query__descriptor, "amaters.query.RangeQuery", "limit", 4, T(UINT32)},
    {&amaters__query__query_result__descriptor, "amaters.query.QueryResult", "single", 1, T(MESSAGE)},
    {&amaters__query__query_result__descriptor, "amaters.query.QueryResult", "multi", 2, T(MESSAGE)},
    {&amaters__query__query_result__descriptor, "amaters.query.QueryResult", "success", 3, T(MESSAGE)},
    {&amaters__query__single_result__descriptor, "amaters.query.SingleResult", "value", 1, T(MESSAGE)},
    {&amaters__query__multi_result__descriptor, "amaters.query.MultiResult", "values", 2, T(MESSAGE)},
    {&amaters__query__key_value__descriptor, "amaters.query.KeyValue", "key", 1, T(MESSAGE)},
    {&amaters__query__key_value__descriptor, "amaters.query.KeyValue", "value", 2, T(MESSAGE)},
    {&amaters__query__key_value__descriptor, "amaters.query.KeyValue", "encrypted_predicate_result", 4, T(BYTES)},
    {&amaters__query__success_result__descriptor, "amaters.query.SuccessResult", "affected_rows", 1, T(UINT64)},
    {&amaters__types__version__descriptor, "amaters.types.Version", "major", 1, T(UINT32)},
    {&amaters__types__version__descriptor, "amaters.types.Version", "minor", 2, T(UINT32)},
    {&amaters__types__version__descriptor, "amaters.types.Version", "patch", 3, T(UINT32)},
    {&amaters__types__cipher_blob__descriptor, "amaters.types.CipherBlob", "data", 1, T(BYTES)},
    {&amaters__types__cipher_blob__descriptor, "amaters.types.CipherBlob", "metadata", 2, T(MESSAGE)},
    {&amaters__types__cipher_metadata__descriptor, "amaters.types.CipherMetadata", "size", 1, T(UINT64)},
    {&amaters__types__cipher_metadata__descriptor, "amaters.types.CipherMetadata", "compression", 2, T(ENUM)},
    {&amaters__types__cipher_metadata__descriptor, "amaters.types.CipherMetadata", "checksum", 3, T(UINT32)},
    {&amaters__types__cipher_metadata__descriptor, "amaters.types.CipherMetadata", "created_at", 4, T(INT64)},
    {&amaters__types__cipher_metadata__descriptor, "amaters.types.CipherMetadata", "version", 5, T(UINT32)},
    {&amaters__types__key__descriptor, "amaters.types.Key", "data", 1, T(BYTES)},
    {&amaters__types__column_ref__descriptor, "amaters.types.ColumnRef", "name", 1, T(STRING)},
    {&amaters__types__predicate__descriptor, "amaters.types.Predicate", "eq", 1, T(MESSAGE)},
    {&amaters__types__predicate__descriptor, "amaters.types.Predicate", "not", 8, T(MESSAGE)},
    {&amaters__types__and_predicate__descriptor, "amaters.types.AndPredicate", "right", 2, T(MESSAGE)},
    {&amaters__types__not_predicate__descriptor, "amaters.types.NotPredicate", "predicate", 1, T(MESSAGE)},
    {&amaters__types__update__descriptor, "amaters.types.Update", "mul", 3, T(MESSAGE)},
    {&amaters__types__add_update__descriptor, "amaters.types.AddUpdate", "value", 2, T(MESSAGE)},
    {&amaters__errors__error_response__descriptor, "amaters.errors.ErrorResponse", "code", 1, T(ENUM)},
    {&amaters__errors__error_response__descriptor, "amaters.errors.ErrorResponse", "message", 2, T(STRING)},
    {&amaters__errors__error_response__descriptor, "amaters.errors.ErrorResponse", "details", 3, T(STRING)},
    {&amaters__errors__error_response__descriptor, "amaters.errors.ErrorResponse", "retry_after", 4, T(UINT32)},
    {&amaters__errors__error_response__descriptor, "amaters.errors.ErrorResponse", "category", 5, T(ENUM)},
};

static void test_field_numbers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field_case *c = &fields[i];
        assert_string_equal(c->msg->name, c->full_name);
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(c->msg, c->field);
        if (f == NULL)
            fail_msg("%s has no field %s", c->full_name, c->field);
        if (f->id != c->number || f->type != c->type)
            fail_msg("%s.%s: number %u type %d, spec says %u type %d",
                     c->full_name, c->field, f->id, f->type, c->number,
                     c->type);
    }
}

/* Fields the spec says do not exist must not. */
static void test_absent_numbers(void **state)
{
    (void)state;
    assert_null(protobuf_c_message_descriptor_get_field(
        &amaters__query__multi_result__descriptor, 1));
    assert_null(protobuf_c_message_descriptor_get_field(
        &amaters__query__key_value__descriptor, 3));
    assert_int_equal(amaters__aql__server_info_request__descriptor.n_fields,
                     0);
}

struct enum_case {
    const ProtobufCEnumDescriptor *e;
    const char *name;
    int value;
};

static const struct enum_case enums[] = {
    {&amaters__errors__error_code__descriptor, "ERROR_UNKNOWN", 0},
    {&amaters__errors__error_code__descriptor, "ERROR_NETWORK_TIMEOUT", 1000},
    {&amaters__errors__error_code__descriptor, "ERROR_NETWORK_TLS_HANDSHAKE", 1004},
    {&amaters__errors__error_code__descriptor, "ERROR_PROTOCOL_INVALID_REQUEST", 2000},
    {&amaters__errors__error_code__descriptor, "ERROR_PROTOCOL_MISSING_FIELD", 2003},
    {&amaters__errors__error_code__descriptor, "ERROR_AUTH_FAILED", 3000},
    {&amaters__errors__error_code__descriptor, "ERROR_AUTH_INVALID_CERTIFICATE", 3003},
    {&amaters__errors__error_code__descriptor, "ERROR_STORAGE_NOT_FOUND", 4000},
    {&amaters__errors__error_code__descriptor, "ERROR_STORAGE_IO", 4004},
    {&amaters__errors__error_code__descriptor, "ERROR_COMPUTE_FAILED", 5000},
    {&amaters__errors__error_code__descriptor, "ERROR_COMPUTE_TIMEOUT", 5002},
    {&amaters__errors__error_code__descriptor, "ERROR_VALIDATION_INVALID_KEY", 6000},
    {&amaters__errors__error_code__descriptor, "ERROR_VALIDATION_INVALID_COLLECTION", 6003},
    {&amaters__errors__error_code__descriptor, "ERROR_SERVER_INTERNAL", 7000},
    {&amaters__errors__error_code__descriptor, "ERROR_SERVER_SHUTTING_DOWN", 7003},
    {&amaters__errors__error_category__descriptor, "CATEGORY_UNKNOWN", 0},
    {&amaters__errors__error_category__descriptor, "CATEGORY_RETRYABLE", 1},
    {&amaters__errors__error_category__descriptor, "CATEGORY_NON_RETRYABLE", 2},
    {&amaters__errors__error_category__descriptor, "CATEGORY_AUTH", 3},
    {&amaters__errors__error_category__descriptor, "CATEGORY_CLIENT_ERROR", 4},
    {&amaters__errors__error_category__descriptor, "CATEGORY_SERVER_ERROR", 5},
    {&amaters__aql__health_status__descriptor, "HEALTH_SERVING", 1},
    {&amaters__aql__health_status__descriptor, "HEALTH_SERVICE_UNKNOWN", 3},
    {&amaters__aql__isolation_level__descriptor, "ISOLATION_SERIALIZABLE", 4},
    {&amaters__aql__isolation_level__descriptor, "ISOLATION_READ_UNCOMMITTED", 1},
    {&amaters__types__compression_type__descriptor, "COMPRESSION_ZSTD", 2},
};

static void test_enum_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value_by_name(enums[i].e,
                                                         enums[i].name);
        if (v == NULL)
            fail_msg("enum %s has no %s", enums[i].e->name, enums[i].name);
        assert_int_equal(v->value, enums[i].value);
    }
    assert_int_equal(amaters__errors__error_code__descriptor.n_values, 30);
}

static void test_service_methods(void **state)
{
    (void)state;
    const ProtobufCServiceDescriptor *s =
        &amaters__aql__aql_service__descriptor;
    static const char *const methods[] = {
        "ExecuteQuery",       "ExecuteBatch", "ExecuteStream",
        "ExecuteInteractive", "HealthCheck",  "GetServerInfo"};
    assert_string_equal(s->name, "amaters.aql.AqlService");
    assert_int_equal(s->n_methods, 6);
    for (size_t i = 0; i < 6; i++)
        assert_non_null(protobuf_c_service_descriptor_get_method_by_name(
            s, methods[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_numbers),
        cmocka_unit_test(test_absent_numbers),
        cmocka_unit_test(test_enum_values),
        cmocka_unit_test(test_service_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
