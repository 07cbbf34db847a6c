/* The CNI executable, installed under every plugin name (bridge, host-local, ...).
 * It hands the call (plugin name from argv[0], CNI_* environment, stdin) to the warm daemon over a unix
 * socket and replays its stdout, stderr and exit code. When no daemon listens it starts one on demand
 * (ondemand.c; unless wasm-cni.conf beside it says `on-demand = false`); when that is off or fails, or the daemon
 * declines (other protocol version, draining, another namespace), it runs the plugin on the kit's JavaScript
 * runtime instead (coldpath.c). Under the name `wasm-cni` it is the CLI (same kit). Once the call is
 * sent, a daemon that goes away or stays silent past the reply timeout yields CNI error 11 (try again later):
 * the runtime retries, nothing hangs. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "shim.h"
#include "wire.h"

extern char **environ;

#define DEFAULT_SOCKET "/run/wasm-cni/wasm-cni.sock"
#define DEFAULT_CONNECT_TIMEOUT_MS 1000
#define DEFAULT_REPLY_TIMEOUT_MS 240000 /* below kubelet's 4-minute sandbox timeout */

/* ---- output ---- */

int write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\t': fputs("\\t", f); break;
    case '\r': fputs("\\r", f); break;
    default:
      if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
  }
  fputc('"', f);
}

void cni_fail(int code, const char *msg, const char *details) {
  fprintf(stdout, "{\n    \"code\": %d,\n    \"msg\": ", code);
  json_string(stdout, msg);
  if (details && *details) {
    fputs(",\n    \"details\": ", stdout);
    json_string(stdout, details);
  }
  fputs("\n}", stdout);
  fflush(stdout);
  exit(1);
}

/* ---- settings ---- */

static long env_ms(const char *name, long fallback) {
  const char *v = getenv(name);
  if (!v || !*v) return fallback;
  char *end;
  long ms = strtol(v, &end, 10);
  return (*end == '\0' && ms > 0) ? ms : fallback;
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The plugin is the name we were exec'd under; `cni-shim <plugin>` also works (tests, debugging). */
static const char *plugin_name(int argc, char **argv) {
  const char *base = argc > 0 && argv[0] ? argv[0] : "";
  const char *slash = strrchr(base, '/');
  if (slash) base = slash + 1;
  if (strcmp(base, "cni-shim") == 0 && argc > 1) base = argv[1];
  size_t len = strlen(base);
  if (len == 0 || len > WIRE_MAX_NAME)
    cni_fail(CNI_ERR_INTERNAL, "wasm-cni: cannot tell which plugin to run from the executable name", base);
  return base;
}

/* ---- a growable byte buffer for the request ---- */

struct buf {
  uint8_t *p;
  size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) cni_fail(CNI_ERR_INTERNAL, "wasm-cni: out of memory", NULL);
  b->p = p;
  b->cap = cap;
}

static void put_u16(struct buf *b, uint16_t v) {
  buf_reserve(b, 2);
  b->p[b->len++] = (uint8_t)(v >> 8);
  b->p[b->len++] = (uint8_t)v;
}

static void put_u32(struct buf *b, uint32_t v) {
  buf_reserve(b, 4);
  for (int shift = 24; shift >= 0; shift -= 8) b->p[b->len++] = (uint8_t)(v >> shift);
}

static void put_bytes(struct buf *b, const void *data, size_t len) {
  put_u32(b, (uint32_t)len);
  buf_reserve(b, len);
  memcpy(b->p + b->len, data, len);
  b->len += len;
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- stdin ---- */

/* Reads all of stdin; one byte past the limit is enough to know it is too big. */
static void read_stdin(struct buf *in) {
  for (;;) {
    buf_reserve(in, 65536);
    ssize_t n = read(0, in->p + in->len, in->cap - in->len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EBADF) return; /* no stdin at all: the plugin reports the missing config */
      cni_fail(CNI_ERR_IO, "wasm-cni: cannot read the network configuration from stdin", strerror(errno));
    }
    if (n == 0) return;
    in->len += (size_t)n;
    if (in->len > WIRE_MAX_PAYLOAD / 2) {
      char details[96];
      snprintf(details, sizeof details, "the limit is %u bytes", WIRE_MAX_PAYLOAD / 2);
      cni_fail(CNI_ERR_IO, "wasm-cni: the network configuration on stdin is too large", details);
    }
  }
}

/* ---- the daemon socket ---- */

/* A connected socket, or -1 with errno when no daemon answers in time (the cold path or on-demand start takes over). */
int connect_daemon(const char *path, long timeout_ms) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return errno = ENAMETOOLONG, -1;
  strcpy(addr.sun_path, path);
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    int err = errno;
    close(fd);
    errno = err;
    /* EAGAIN: the listen backlog is full (a burst of pods); the daemon is alive, so wait a little. */
    if (err != EAGAIN || now_ms() >= deadline) return -1;
    struct timespec pause = {0, 2 * 1000000};
    nanosleep(&pause, NULL);
  }
}

/* Waits for fd to be ready for `events` until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return -1;
  }
}

/* Sends all bytes; -1 when the daemon went away (it may have rejected the call: the reply says why). */
static int send_all(int fd, const uint8_t *p, size_t len, int64_t deadline) {
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (wait_fd(fd, POLLOUT, deadline) == 1) continue;
      errno = ETIMEDOUT;
    }
    return -1;
  }
  return 0;
}

/* Reads exactly len bytes: 0 ok, -1 with errno (0 = connection closed early, ETIMEDOUT = no reply in time). */
static int recv_exact(int fd, uint8_t *p, size_t len, int64_t deadline) {
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n == 0) {
      errno = 0;
      return -1;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    int r = wait_fd(fd, POLLIN, deadline);
    if (r == 0) errno = ETIMEDOUT;
    if (r != 1) return -1;
  }
  return 0;
}

_Noreturn static void daemon_lost(const char *what, int err) {
  char details[256];
  snprintf(details, sizeof details, "%s: %s", what,
           err == 0 ? "the daemon closed the connection" : err == ETIMEDOUT ? "no reply before the timeout" : strerror(err));
  cni_fail(CNI_ERR_TRY_AGAIN, "wasm-cni daemon did not complete the call; try again later", details);
}

static struct buf build_call(const char *plugin, const struct buf *in) {
  struct buf b = {0};
  buf_reserve(&b, WIRE_HEADER_LEN);
  memcpy(b.p, WIRE_MAGIC, 4);
  b.len = 4;
  put_u16(&b, WIRE_VERSION);
  put_u16(&b, WIRE_CALL);
  put_u32(&b, 0); /* payload length, patched below */
  put_bytes(&b, plugin, strlen(plugin));
  size_t count_at = b.len;
  put_u32(&b, 0);
  uint32_t count = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    if (++count > WIRE_MAX_ENV) cni_fail(CNI_ERR_INTERNAL, "wasm-cni: too many CNI_* environment variables", NULL);
    put_bytes(&b, *e, strlen(*e));
  }
  put_bytes(&b, in->p ? in->p : (const uint8_t *)"", in->len);
  uint32_t payload = (uint32_t)(b.len - WIRE_HEADER_LEN);
  for (int i = 0; i < 4; i++) {
    b.p[8 + i] = (uint8_t)(payload >> (24 - 8 * i));
    b.p[count_at + i] = (uint8_t)(count >> (24 - 8 * i));
  }
  return b;
}

/* A REJECT: go cold when the call simply cannot be served here, otherwise report why. */
static void handle_reject(const struct kit *k, const char *plugin, const uint8_t *payload, uint32_t len,
                          const struct buf *in) {
  uint16_t reason = len >= 2 ? (uint16_t)(payload[0] << 8 | payload[1]) : 0;
  if (reason == REJECT_VERSION || reason == REJECT_DRAINING || reason == REJECT_OTHER_NAMESPACE)
    cold_exec(k, plugin, in->p, in->len);
  char msg[512] = "";
  if (len >= 6) {
    uint32_t mlen = get_u32(payload + 2);
    if (mlen > len - 6) mlen = len - 6;
    if (mlen > sizeof msg - 1) mlen = sizeof msg - 1;
    memcpy(msg, payload + 6, mlen);
    msg[mlen] = '\0';
  }
  if (reason == REJECT_DENIED) cni_fail(CNI_ERR_INTERNAL, "wasm-cni daemon refused the call: permission denied", msg);
  cni_fail(CNI_ERR_INTERNAL, "wasm-cni daemon rejected the call", msg);
}

static void replay_result(const uint8_t *payload, uint32_t len) {
  if (len < 12) daemon_lost("malformed reply", EPROTO);
  int32_t code = (int32_t)get_u32(payload);
  uint32_t out_len = get_u32(payload + 4);
  if (out_len > len - 12) daemon_lost("malformed reply", EPROTO);
  const uint8_t *out = payload + 8;
  uint32_t err_len = get_u32(out + out_len);
  if (err_len != len - 12 - out_len) daemon_lost("malformed reply", EPROTO);
  const uint8_t *err = out + out_len + 4;
  write_all(1, out, out_len);
  write_all(2, err, err_len);
  exit(code & 0xff);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  const char *plugin = plugin_name(argc, argv);
  struct kit kit;
  kit_find(&kit);
  if (strcmp(plugin, "wasm-cni") == 0) cli_exec(&kit, argc, argv);
  struct settings settings;
  settings_read(kit.exe_dir, &settings);
  const char *socket_path = getenv("WASM_CNI_SOCKET");
  if (!socket_path || !*socket_path) socket_path = settings.socket[0] ? settings.socket : DEFAULT_SOCKET;

  int fd = connect_daemon(socket_path, env_ms("WASM_CNI_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT_MS));
  if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED)) {
    char why[PATH_MAX + 256];
    fd = ondemand_connect(socket_path, &kit, &settings, why, sizeof why);
  }
  if (fd < 0) cold_exec(&kit, plugin, NULL, 0); /* stdin untouched: the runtime reads it directly */

  struct buf in = {0};
  read_stdin(&in);
  struct buf call = build_call(plugin, &in);
  int64_t deadline = now_ms() + env_ms("WASM_CNI_REPLY_TIMEOUT_MS", DEFAULT_REPLY_TIMEOUT_MS);
  int send_err = send_all(fd, call.p, call.len, deadline) == 0 ? 0 : (errno ? errno : EPIPE);
  free(call.p);

  uint8_t header[WIRE_HEADER_LEN];
  if (recv_exact(fd, header, sizeof header, deadline) != 0) {
    int err = errno;
    daemon_lost(send_err ? "sending the call" : "waiting for the reply", send_err ? send_err : err);
  }
  if (memcmp(header, WIRE_MAGIC, 4) != 0) daemon_lost("the socket does not speak the wasm-cni protocol", EPROTO);
  uint16_t kind = (uint16_t)(header[6] << 8 | header[7]);
  uint32_t len = get_u32(header + 8);
  if (len > WIRE_MAX_PAYLOAD) daemon_lost("reply over the size limit", EMSGSIZE);
  uint8_t *payload = malloc(len ? len : 1);
  if (!payload) cni_fail(CNI_ERR_INTERNAL, "wasm-cni: out of memory", NULL);
  if (recv_exact(fd, payload, len, deadline) != 0) daemon_lost("reading the reply", errno);
  close(fd);

  if (kind == WIRE_REJECT) handle_reject(&kit, plugin, payload, len, &in);
  uint16_t version = (uint16_t)(header[4] << 8 | header[5]);
  if (kind != WIRE_RESULT || version != WIRE_VERSION) daemon_lost("unexpected reply", EPROTO);
  replay_result(payload, len);
  return 0;
}
