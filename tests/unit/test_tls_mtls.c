/*
 * test_tls_mtls.c - unit tests for src/security/tls.h through the network. The
 * mTLS policy is checked through a real gRPC core server on 127.0.0.1:0 whose
 * one generic handler answers every call with status OK and the principal (or
 * the refusal reason) as details: client certificate required (good, none,
 * other CA, revoked, organization not allowed, SAN only) or optional. Rotation
 * replaces the server certificate files while a client stays connected: a new
 * connection must see the new certificate, the old one keeps working, and a
 * garbage file or a certificate that does not match the key is counted and
 * ignored. The throw-away PKI and the fixture are in tls_fixture.h; the checks
 * without a network are in test_tls.c.
 */
#include "tls_fixture.h"

#include <pthread.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#define CALL_TIMEOUT_MS 5000

/* ---- A gRPC core server answering with the principal ---- */

enum tag_kind { TAG_NEW_CALL, TAG_CALL_DONE, TAG_SHUTDOWN };

struct server;

/* One call of the server; owned by the server thread. */
struct call_ctx {
    enum tag_kind kind;
    struct server *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_slice status_details;
    int cancelled;
};

struct server {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    struct amaters_tls *tls;
    int port;
    struct call_ctx shutdown_tag;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool shutdown_seen; /* guarded by mu */
};

static void ctx_free(struct call_ctx *c)
{
    if (c->call != NULL)
        grpc_call_unref(c->call);
    if (c->kind == TAG_CALL_DONE)
        grpc_slice_unref(c->status_details);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    free(c);
}

static void arm(struct server *s)
{
    struct call_ctx *c = calloc(1, sizeof *c);

    if (c == NULL)
        abort();
    c->kind = TAG_NEW_CALL;
    c->srv = s;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_call(s->server, &c->call, &c->details, &c->md,
                                 s->cq, s->cq, c) != GRPC_CALL_OK)
        ctx_free(c);
}

/* Answers with status OK and the principal or the reason as details. */
static void answer(struct call_ctx *c)
{
    struct amaters_principal p;
    char why[128] = "", text[256];
    grpc_op ops[3];
    int rv = amaters_tls_peer_principal(c->srv->tls, c->call, &p, why,
                                        sizeof why);

    snprintf(text, sizeof text, "%s", rv == 0 ? p.subject : why);
    amaters_principal_free(&p);
    c->status_details = grpc_slice_from_copied_string(text);
    c->kind = TAG_CALL_DONE;
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = GRPC_STATUS_OK;
    ops[1].data.send_status_from_server.status_details = &c->status_details;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(c->call, ops, 3, c, NULL) != GRPC_CALL_OK)
        ctx_free(c);
}

static void *server_main(void *arg)
{
    struct server *s = arg;

    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        struct call_ctx *c = ev.tag;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (c->kind == TAG_SHUTDOWN) {
            pthread_mutex_lock(&s->mu);
            s->shutdown_seen = true;
            pthread_cond_signal(&s->cond);
            pthread_mutex_unlock(&s->mu);
        } else if (c->kind == TAG_NEW_CALL && ev.success) {
            arm(s);
            answer(c);
        } else {
            ctx_free(c);
        }
    }
    return NULL;
}

static void server_start(struct server *s, struct amaters_tls *tls)
{
    grpc_server_credentials *creds;

    memset(s, 0, sizeof *s);
    s->tls = tls;
    s->shutdown_tag.kind = TAG_SHUTDOWN;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    s->server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    creds = amaters_tls_server_credentials(tls);
    assert_non_null(creds);
    s->port = grpc_server_add_http2_port(s->server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    assert_true(s->port > 0);
    grpc_server_start(s->server);
    arm(s);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    struct timespec until;
    bool seen;

    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    grpc_server_cancel_all_calls(s->server);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    while (!s->shutdown_seen &&
           pthread_cond_timedwait(&s->cond, &s->mu, &until) == 0)
        ;
    seen = s->shutdown_seen;
    pthread_mutex_unlock(&s->mu);
    assert_true(seen);
    grpc_server_destroy(s->server);
    grpc_completion_queue_shutdown(s->cq);
    pthread_join(s->thread, NULL);
    grpc_completion_queue_destroy(s->cq);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
}

/* ---- Clients ---- */

struct result {
    grpc_status_code status;
    char details[256];
    char server_cn[128]; /* CN of the certificate the server presented */
};

/* A channel trusting ca, presenting client's certificate (may be NULL);
 * never shares a connection with another channel. */
static grpc_channel *client_connect(int port, const struct ident *client)
{
    grpc_ssl_pem_key_cert_pair pair;
    grpc_channel_credentials *creds;
    grpc_arg args[2];
    grpc_channel_args chargs = {2, args};
    grpc_channel *ch;
    char target[64];

    if (client != NULL) {
        pair.private_key = client->key_pem;
        pair.cert_chain = client->cert_pem;
    }
    creds = grpc_ssl_credentials_create(pki.ca.cert_pem,
                                        client != NULL ? &pair : NULL, NULL,
                                        NULL);
    args[0].type = GRPC_ARG_STRING;
    args[0].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
    args[0].value.string = "localhost";
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[1].value.integer = 1;
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    ch = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    assert_non_null(ch);
    return ch;
}

static void copy_slice(grpc_slice s, char *out, size_t cap)
{
    size_t n = GRPC_SLICE_LENGTH(s);

    if (n >= cap)
        n = cap - 1;
    memcpy(out, GRPC_SLICE_START_PTR(s), n);
    out[n] = '\0';
}

/* One unary call without a message, bounded by CALL_TIMEOUT_MS. */
static void client_call(grpc_channel *ch, struct result *r)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_millis(CALL_TIMEOUT_MS, GPR_TIMESPAN));
    grpc_slice method = grpc_slice_from_static_string("/test.Tls/Who");
    grpc_metadata_array initial, trailing;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[4];
    grpc_event ev;
    grpc_call *call;
    grpc_auth_context *ctx;

    memset(r, 0, sizeof *r);
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                    method, NULL, deadline, NULL);
    assert_non_null(call);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[2].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[2].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[3].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[3].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[3].data.recv_status_on_client.status = &r->status;
    ops[3].data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, ops, 4, call, NULL),
                     GRPC_CALL_OK);
    ev = grpc_completion_queue_next(
        cq, gpr_time_add(deadline, gpr_time_from_seconds(2, GPR_TIMESPAN)),
        NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);
    copy_slice(details, r->details, sizeof r->details);
    ctx = grpc_call_auth_context(call);
    if (ctx != NULL) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(
                ctx, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p != NULL)
            snprintf(r->server_cn, sizeof r->server_cn, "%s", p->value);
        grpc_auth_context_release(ctx);
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                      NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

/* Connects with client's certificate, makes one call, disconnects. */
static void call_once(int port, const struct ident *client, struct result *r)
{
    grpc_channel *ch = client_connect(port, client);

    client_call(ch, r);
    grpc_channel_destroy(ch);
}

/* ---- mTLS through the network ---- */

static void test_mtls_required(void **state)
{
    const struct {
        const struct ident *client;
        bool connects;
        const char *details;
    } cases[] = {
        {&pki.alice, true, "alice"},
        {NULL, false, ""},
        {&pki.eve, false, ""}, /* other CA */
        {&pki.mallory, true, "client certificate revoked"},
        {&pki.evil, true, "organization not allowed"},
        {&pki.bob, true, "bob.example"},
    };
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "ca.pem", "crl.pem", true);
    struct amaters_tls *t = NULL;
    struct server s;
    char err[512] = "";
    (void)state;

    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    server_start(&s, t);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct result r;
        call_once(s.port, cases[i].client, &r);
        if (!cases[i].connects) {
            if (r.status == GRPC_STATUS_OK)
                fail_msg("case %zu: call succeeded (%s)", i, r.details);
            assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
            continue;
        }
        if (r.status != GRPC_STATUS_OK)
            fail_msg("case %zu: status %d (%s)", i, r.status, r.details);
        assert_string_equal(r.details, cases[i].details);
        assert_string_equal(r.server_cn, "server-v1");
    }
    server_stop(&s);
    amaters_tls_free(t);
}

/* CA configured, client certificate optional: still verified if sent. */
static void test_mtls_optional(void **state)
{
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "ca.pem", "", false);
    struct amaters_tls *t = NULL;
    struct server s;
    struct result r;
    char err[512] = "";
    (void)state;

    o.n_allowed_orgs = 0;
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    server_start(&s, t);
    call_once(s.port, NULL, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_string_equal(r.details, "no client certificate");
    call_once(s.port, &pki.evil, &r); /* any organization */
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_string_equal(r.details, "evil");
    call_once(s.port, &pki.eve, &r);
    assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
    server_stop(&s);
    amaters_tls_free(t);
}

/* ---- Certificate rotation without restart ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/*
 * Makes new connections (bounded) until one sees the server certificate
 * want_cn and the failure counter reaches want_failures; every call must
 * succeed.
 */
static void poll_new_connections(struct server *s, const char *want_cn,
                                 uint64_t want_failures)
{
    struct result r;

    for (int i = 0; i < 60; i++) {
        call_once(s->port, NULL, &r);
        if (r.status != GRPC_STATUS_OK)
            fail_msg("new connection failed: %d %s", r.status, r.details);
        if (strcmp(r.server_cn, want_cn) == 0 &&
            amaters_tls_reload_failures(s->tls) == want_failures)
            return;
        sleep_ms(100);
    }
    fail_msg("new connections still see %s, %llu failures (want %s, %llu)",
             r.server_cn,
             (unsigned long long)amaters_tls_reload_failures(s->tls),
             want_cn, (unsigned long long)want_failures);
}

static void expect_old_connection_works(grpc_channel *a)
{
    struct result r;

    client_call(a, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_string_equal(r.details, "no client certificate");
    assert_string_equal(r.server_cn, "server-v1");
}

static void test_rotation(void **state)
{
    struct opt_bufs b;
    struct amaters_tls_options o;
    struct amaters_tls *t = NULL;
    struct server s;
    grpc_channel *a;
    char err[512] = "";
    (void)state;

    write_pair("live.crt", "live.key", &pki.srv1);
    o = make_opts(&b, "live.crt", "live.key", "", "", false);
    o.n_allowed_orgs = 0;
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    server_start(&s, t);
    a = client_connect(s.port, NULL);
    expect_old_connection_works(a);
    assert_int_equal(amaters_tls_reloads(t), 0);

    /* new certificate: new connections see it, A keeps its session */
    write_pair("live.crt", "live.key", &pki.srv2);
    poll_new_connections(&s, "server-v2", 0);
    assert_int_equal(amaters_tls_reloads(t), 1);
    expect_old_connection_works(a);

    /* garbage certificate: rejected, server-v2 stays */
    write_file("live.crt", "garbage\n");
    poll_new_connections(&s, "server-v2", 1);
    /* a certificate that does not match the key: rejected too */
    write_file("live.crt", pki.srv1.cert_pem);
    poll_new_connections(&s, "server-v2", 2);
    assert_int_equal(amaters_tls_reloads(t), 1);
    expect_old_connection_works(a);

    /* the matching key arrives: the pair is taken */
    write_file("live.key", pki.srv1.key_pem);
    poll_new_connections(&s, "server-v1", 2);
    assert_int_equal(amaters_tls_reloads(t), 2);
    expect_old_connection_works(a);

    grpc_channel_destroy(a);
    server_stop(&s);
    amaters_tls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_mtls_required),
        LEAK_TEST(test_mtls_optional),
        LEAK_TEST(test_rotation),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
