/*
 * control.c - the stop and status commands: they find the running server
 * through its PID file (and, for status, ask it over gRPC).
 */
#include "server/server.h"

#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aql.pb-c.h"
#include "core/timeutil.h"

static bool process_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int amaters_cmd_stop(const struct amaters_cli *cli)
{
    struct amaters_config cfg;
    char path[4096];
    long pid = 0;
    int rc = AMATERS_EXIT_ERROR;

    if (amaters_server_load_config(cli, &cfg))
        goto out;
    amaters_config_pid_path(&cfg, path, sizeof path);
    if (amaters_pidfile_read(path, &pid, NULL, NULL, 0) != 0 ||
        !process_alive(pid)) {
        fprintf(stderr, "amaters-server: no running server (PID file %s %s)\n",
                path, pid ? "names a process that is gone" : "not found");
        goto out;
    }
    double timeout = cli->timeout_secs >= 0
                         ? cli->timeout_secs
                         : (double)cfg.server.shutdown_timeout_secs + 5;
    int sig = cli->force ? SIGKILL : SIGTERM;
    if (kill((pid_t)pid, sig) != 0) {
        fprintf(stderr, "amaters-server: cannot signal pid %ld: %s\n", pid,
                strerror(errno));
        goto out;
    }
    printf("sent %s to amaters-server (pid %ld); waiting up to %.0f s\n",
           cli->force ? "SIGKILL" : "SIGTERM", pid, timeout);
    uint64_t deadline = amaters_now_ms() + (uint64_t)(timeout * 1000);
    struct timespec poll = {0, 50 * 1000000L};
    while (process_alive(pid) && amaters_now_ms() < deadline)
        nanosleep(&poll, NULL);
    if (process_alive(pid)) {
        fprintf(stderr,
                "amaters-server: pid %ld still running after %.0f s (try "
                "stop --force)\n",
                pid, timeout);
        goto out;
    }
    if (cli->force)
        unlink(path); /* a killed server cannot remove its own */
    printf("amaters-server stopped\n");
    rc = AMATERS_EXIT_OK;
out:
    amaters_config_free(&cfg);
    return rc;
}

/* One unary call with a 2 s deadline; returns the response bytes (caller
 * frees with grpc_slice_unref) or an empty slice on failure. */
static int unary_call(grpc_channel *ch, const char *method,
                      const ProtobufCMessage *req, grpc_slice *out,
                      grpc_status_code *status)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t buf[256];
    grpc_byte_buffer *resp = NULL, *send;
    grpc_metadata_array im, tm;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    int rc = -1;

    protobuf_c_message_pack(req, buf);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, n);
    send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_metadata_array_init(&im);
    grpc_metadata_array_init(&tm);
    gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                   gpr_time_from_millis(2000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(
        ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
        grpc_slice_from_static_string(method), NULL, dl, NULL);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &im;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.status = &st;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.trailing_metadata = &tm;
    if (grpc_call_start_batch(call, ops, 6, ops, NULL) == GRPC_CALL_OK) {
        grpc_completion_queue_pluck(cq, ops,
                                    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        *status = st;
        if (st == GRPC_STATUS_OK && resp) {
            grpc_byte_buffer_reader rd;
            grpc_byte_buffer_reader_init(&rd, resp);
            *out = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
            rc = 0;
        }
    }
    if (resp)
        grpc_byte_buffer_destroy(resp);
    grpc_byte_buffer_destroy(send);
    grpc_metadata_array_destroy(&im);
    grpc_metadata_array_destroy(&tm);
    grpc_slice_unref(details);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return rc;
}

struct probe {
    bool answered;
    bool auth_required; /* the server wants credentials status has not */
    int health;
    uint64_t uptime;
    char protocol[32];
};

static void ask_server(const char *addr, struct probe *p)
{
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(addr, cr, NULL);
    Amaters__Aql__HealthCheckRequest hreq =
        AMATERS__AQL__HEALTH_CHECK_REQUEST__INIT;
    Amaters__Aql__ServerInfoRequest ireq =
        AMATERS__AQL__SERVER_INFO_REQUEST__INIT;
    grpc_slice s;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;

    grpc_channel_credentials_release(cr);
    if (unary_call(ch, "/amaters.aql.AqlService/HealthCheck", &hreq.base,
                   &s, &st) == 0) {
        Amaters__Aql__HealthCheckResponse *r =
            amaters__aql__health_check_response__unpack(
                NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        if (r) {
            p->answered = true;
            p->health = r->status;
            amaters__aql__health_check_response__free_unpacked(r, NULL);
        }
        grpc_slice_unref(s);
    }
    if (st == GRPC_STATUS_UNAUTHENTICATED)
        p->auth_required = true;
    if (p->answered &&
        unary_call(ch, "/amaters.aql.AqlService/GetServerInfo", &ireq.base,
                   &s, &st) == 0) {
        Amaters__Aql__ServerInfoResponse *r =
            amaters__aql__server_info_response__unpack(
                NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        if (r) {
            p->uptime = r->uptime_seconds;
            if (r->version)
                snprintf(p->protocol, sizeof p->protocol, "%u.%u.%u",
                         r->version->major, r->version->minor,
                         r->version->patch);
            amaters__aql__server_info_response__free_unpacked(r, NULL);
        }
        grpc_slice_unref(s);
    }
    grpc_channel_destroy(ch);
}

static const char *health_name(int h)
{
    switch (h) {
    case AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVING:
        return "SERVING";
    case AMATERS__AQL__HEALTH_STATUS__HEALTH_NOT_SERVING:
        return "NOT_SERVING";
    case AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVICE_UNKNOWN:
        return "SERVICE_UNKNOWN";
    default:
        return "UNKNOWN";
    }
}

static void print_status(const struct amaters_cli *cli, bool running,
                         long pid, const char *addr, const char *http,
                         const struct probe *p)
{
    const char *status = p->answered        ? health_name(p->health)
                         : p->auth_required ? "AUTHENTICATION_REQUIRED"
                         : running          ? "UNREACHABLE"
                                            : "STOPPED";
    if (strcmp(cli->format, "json") == 0) {
        printf("{\"running\":%s,\"pid\":%ld,\"status\":\"%s\","
               "\"address\":\"%s\",\"http_address\":\"%s\","
               "\"source\":\"%s\",\"uptime_seconds\":%llu,"
               "\"protocol_version\":\"%s\",\"version\":\"%s\"}\n",
               running ? "true" : "false", running ? pid : 0, status, addr,
               http, p->answered ? "grpc" : "pid_file",
               (unsigned long long)p->uptime, p->protocol,
               amaters_server_version());
        return;
    }
    if (!running) {
        printf("amaters-server is not running\n");
        return;
    }
    printf("amaters-server is running (pid %ld)\n", pid);
    printf("  status:    %s%s\n", status,
           p->answered        ? ""
           : p->auth_required ? " (gRPC needs credentials; see /readyz)"
                              : " (no gRPC answer; from the PID file)");
    printf("  gRPC:      %s\n", addr);
    printf("  HTTP:      %s\n", http);
    if (p->answered)
        printf("  uptime:    %llu s\n  protocol:  %s\n",
               (unsigned long long)p->uptime, p->protocol);
}

int amaters_cmd_status(const struct amaters_cli *cli)
{
    struct amaters_config cfg;
    char path[4096], grpc[300] = "", http[300] = "";
    long pid = 0;
    struct probe p = {0};
    bool running;

    if (amaters_server_load_config(cli, &cfg)) {
        amaters_config_free(&cfg);
        return AMATERS_EXIT_ERROR;
    }
    amaters_config_pid_path(&cfg, path, sizeof path);
    running = amaters_pidfile_read(path, &pid, grpc, http, sizeof grpc) == 0 &&
              process_alive(pid);
    if (grpc[0] == '\0')
        snprintf(grpc, sizeof grpc, "%s", cfg.server.bind_address);
    if (http[0] == '\0')
        snprintf(http, sizeof http, "%s", cfg.metrics.bind_address);
    grpc_init();
    ask_server(grpc, &p);
    grpc_shutdown();
    if ((p.answered || p.auth_required) && !running)
        running = true; /* answering without a PID file we can read */
    print_status(cli, running, pid, grpc, http, &p);
    amaters_config_free(&cfg);
    return running ? AMATERS_EXIT_OK : AMATERS_EXIT_ERROR;
}
