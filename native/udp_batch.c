/*
 * Batched UDP datagram I/O for Linux, on Node-API and libuv (issue 17).
 *
 * One object owns one non-blocking UDP socket, watched by a libuv poll handle on its fd:
 *  - receiving: on readable, recvmmsg() fills up to RECV_VLEN datagrams (or, with UDP_GRO, that
 *    many coalesced runs, split here by their segment size) into one shared buffer, and JavaScript
 *    is called once per system call with the count; a per-datagram table (offset, length, port,
 *    family, address, IPv6 scope ID) sits in a shared Uint32Array;
 *  - sending: JavaScript writes datagrams into a shared send buffer and the same kind of table, then
 *    calls sendBatch(count) once: consecutive datagrams to one destination go as one message with
 *    UDP_SEGMENT (generic segmentation offload) where the kernel has it, all messages in one
 *    sendmmsg(). What the kernel will not take now (EAGAIN, ENOBUFS) is copied into a queue sent
 *    when the fd is writable; sendBatch returns false then, and onDrain is called once the queue
 *    is empty (the backpressure signal).
 *
 * An error on one datagram (a bad destination, an ICMP error the kernel reports) is counted and
 * skipped; it never closes the socket.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Send side: the shared buffer holds send_slots datagrams of slot_size bytes each. The slot size is
 * the largest datagram the endpoint sends (1500 by default; up to a UDP payload's 65527 for jumbo
 * frames); the slots share about SEND_BUFFER_BYTES, at least MIN_SEND_SLOTS and at most SEND_SLOTS. */
#define DEFAULT_SLOT_SIZE 1500
#define MAX_SLOT_SIZE 65527
#define SEND_SLOTS 256
#define MIN_SEND_SLOTS 16
#define SEND_BUFFER_BYTES (DEFAULT_SLOT_SIZE * SEND_SLOTS)
/* Words per datagram in both tables: offset, length, port, family, address (4 words), scope ID
 * (the interface of an IPv6 link-local address; 0 otherwise). A word of its own: an ifindex is a
 * full int, too wide to share the family's or the port's word. */
#define META_WORDS 9
/* The longest host text taken: an IPv6 address, '%' and an interface name or index. */
#define HOST_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 1)
/* Receive side: one recvmmsg() of RECV_VLEN buffers of RECV_BUF bytes (a GRO run is up to 64 KiB,
 * and so is a datagram: quiche advertises max_udp_payload_size 65527). 16 buffers keep the socket at
 * 1 MiB; with GRO one call still takes up to 16 runs of up to 44 datagrams. */
#ifndef RECV_VLEN
#define RECV_VLEN 16
#endif
#define RECV_BUF 65536
/* Table entries per call: a GRO run holds up to 64 segments (128 on newer kernels). */
#define RECV_MAX_DATAGRAMS (RECV_VLEN * 64)
/* System calls per readable event before yielding to the rest of the loop. */
#ifndef RECV_ROUNDS
#define RECV_ROUNDS 8
#endif
/* UDP_MAX_SEGMENTS in the kernel; and stay under the 65507-byte IPv4 payload limit. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

typedef struct queued {
  struct queued *next;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  size_t length;
  uint8_t data[];
} queued_t;

typedef struct {
  double send_calls, datagrams_sent, gso_messages, send_errors, queued_datagrams;
  double recv_calls, datagrams_received, gro_runs, recv_errors, truncated, batches;
  int last_send_errno, last_recv_errno;
} counters_t;

typedef struct {
  napi_env env;
  int fd;
  int family;
  int gso, gro;
  int refs;          /* the JS wrapper + the poll handle while it exists */
  int polling;       /* poll handle initialised (and not yet closed) */
  int closed;
  int writable_armed;
  uv_poll_t poll;
  napi_ref self;     /* strong while the socket is open: the loop calls into it */
  napi_ref on_batch, on_drain;
  napi_async_context async;
  uint8_t *recv_buffer;
  uint32_t *recv_meta;
  uint8_t *send_buffer;
  uint32_t *send_meta;
  queued_t *queue_head, *queue_tail;
  counters_t counters;
  struct mmsghdr recv_msgs[RECV_VLEN];
  struct iovec recv_iov[RECV_VLEN];
  struct sockaddr_storage recv_addr[RECV_VLEN];
  char recv_control[RECV_VLEN][CMSG_SPACE(sizeof(int))];
  struct mmsghdr send_msgs[SEND_SLOTS];
  struct iovec send_iov[SEND_SLOTS];
  struct sockaddr_storage send_addr[SEND_SLOTS];
  char send_control[SEND_SLOTS][CMSG_SPACE(sizeof(uint16_t))];
  int send_segments[SEND_SLOTS];
  uint32_t slot_size, send_slots;
} sock_t;

#define CALL(env, call)                                                   \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      const napi_extended_error_info *info_;                              \
      napi_get_last_error_info((env), &info_);                            \
      napi_throw_error((env), NULL, info_->error_message ? info_->error_message : #call); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

static void release(sock_t *s) {
  if (--s->refs > 0) return;
  queued_t *q = s->queue_head;
  while (q != NULL) {
    queued_t *next = q->next;
    free(q);
    q = next;
  }
  free(s);
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value message, code, error, errno_value, syscall_value;
  char text[160];
  const char *name = uv_err_name(-err);
  snprintf(text, sizeof text, "%s %s (%s)", syscall, name, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

/* ---- addresses ------------------------------------------------------------------------- */

/* Table words 2..8 (port, family, address, scope) to a sockaddr; returns its length, 0 if invalid. */
static socklen_t meta_to_sockaddr(const uint32_t *m, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (m[3] == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)m[2]);
    a->sin_addr.s_addr = htonl(m[4]);
    return sizeof *a;
  }
  if (m[3] == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)m[2]);
    for (int i = 0; i < 4; i++) {
      uint32_t word = htonl(m[4 + i]);
      memcpy(&a->sin6_addr.s6_addr[4 * i], &word, 4);
    }
    a->sin6_scope_id = m[8];
    return sizeof *a;
  }
  return 0;
}

static void sockaddr_to_meta(const struct sockaddr_storage *in, uint32_t *m) {
  if (in->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)in;
    m[2] = ntohs(a->sin_port);
    m[3] = 4;
    m[4] = ntohl(a->sin_addr.s_addr);
    m[5] = m[6] = m[7] = m[8] = 0;
  } else {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)in;
    m[2] = ntohs(a->sin6_port);
    m[3] = 6;
    for (int i = 0; i < 4; i++) {
      uint32_t word;
      memcpy(&word, &a->sin6_addr.s6_addr[4 * i], 4);
      m[4 + i] = ntohl(word);
    }
    m[8] = a->sin6_scope_id;
  }
}

/* An IPv6 zone ("eth0" or "3") to its interface's index: a name first, then a decimal index (as
 * getaddrinfo reads them). 0 when it names no interface here. */
static uint32_t zone_to_scope(const char *zone) {
  unsigned int index = if_nametoindex(zone);
  if (index != 0) return index;
  if (zone[0] < '0' || zone[0] > '9') return 0;
  char *end;
  errno = 0;
  unsigned long value = strtoul(zone, &end, 10);
  if (*end != '\0' || errno != 0 || value == 0 || value > UINT32_MAX) return 0;
  char name[IF_NAMESIZE];
  return if_indextoname((unsigned int)value, name) != NULL ? (uint32_t)value : 0;
}

/* Host text (IPv4, or IPv6 with an optional "%zone") to table words 3..8 (family, address, scope);
 * 0 when it is not an address, or its zone names no interface. */
static int parse_host(const char *host, uint32_t *m) {
  memset(&m[3], 0, 6 * sizeof *m);
  struct in_addr v4;
  if (inet_pton(AF_INET, host, &v4) == 1) {
    m[3] = 4;
    m[4] = ntohl(v4.s_addr);
    return 1;
  }
  const char *percent = strchr(host, '%');
  size_t length = percent != NULL ? (size_t)(percent - host) : strlen(host);
  char text[INET6_ADDRSTRLEN];
  if (length >= sizeof text) return 0;
  memcpy(text, host, length);
  text[length] = '\0';
  struct in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) != 1) return 0;
  if (percent != NULL && (m[8] = zone_to_scope(percent + 1)) == 0) return 0;
  m[3] = 6;
  for (int i = 0; i < 4; i++) {
    uint32_t word;
    memcpy(&word, &v6.s6_addr[4 * i], 4);
    m[4 + i] = ntohl(word);
  }
  return 1;
}

/* A JS string into `host` (HOST_MAX bytes); 0 when it is not a string or too long to be an address
 * (not silently cut short). */
static int host_text(napi_env env, napi_value value, char *host) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, host, HOST_MAX, &length) != napi_ok) return 0;
  return length < HOST_MAX - 1;
}

static int same_destination(const uint32_t *a, const uint32_t *b) {
  return a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5] && a[6] == b[6] && a[7] == b[7] && a[8] == b[8];
}

/* ---- sending --------------------------------------------------------------------------- */

static void arm_poll(sock_t *s);

static void enqueue(sock_t *s, const struct sockaddr_storage *addr, socklen_t addrlen, const uint8_t *data, size_t length) {
  queued_t *q = malloc(sizeof *q + length);
  if (q == NULL) {
    s->counters.send_errors++;
    s->counters.last_send_errno = ENOMEM;
    return;
  }
  q->next = NULL;
  memcpy(&q->addr, addr, sizeof *addr);
  q->addrlen = addrlen;
  q->length = length;
  memcpy(q->data, data, length);
  if (s->queue_tail == NULL) s->queue_head = q;
  else s->queue_tail->next = q;
  s->queue_tail = q;
  s->counters.queued_datagrams++;
}

/* Queues every datagram of messages [from, to). */
static void enqueue_messages(sock_t *s, int from, int to) {
  for (int k = from; k < to; k++) {
    struct msghdr *h = &s->send_msgs[k].msg_hdr;
    for (size_t j = 0; j < h->msg_iovlen; j++) {
      enqueue(s, &s->send_addr[k], h->msg_namelen, h->msg_iov[j].iov_base, h->msg_iov[j].iov_len);
    }
  }
}

/* Sends a GSO message's datagrams one by one (after the kernel refused the message as a whole). */
static void send_split(sock_t *s, int k) {
  struct msghdr *h = &s->send_msgs[k].msg_hdr;
  for (size_t j = 0; j < h->msg_iovlen; j++) {
    struct msghdr one = {0};
    one.msg_name = h->msg_name;
    one.msg_namelen = h->msg_namelen;
    one.msg_iov = &h->msg_iov[j];
    one.msg_iovlen = 1;
    ssize_t r;
    do {
      s->counters.send_calls++;
      r = sendmsg(s->fd, &one, 0);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      s->counters.datagrams_sent++;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      for (; j < h->msg_iovlen; j++) enqueue(s, &s->send_addr[k], h->msg_namelen, h->msg_iov[j].iov_base, h->msg_iov[j].iov_len);
      return;
    } else {
      s->counters.send_errors++;
      s->counters.last_send_errno = errno;
    }
  }
}

/* Sends messages [0, count) with sendmmsg; queues what the kernel will not take now. */
static void send_messages(sock_t *s, int count) {
  int k = 0;
  while (k < count) {
    if (s->queue_head != NULL) {
      enqueue_messages(s, k, count);
      return;
    }
    s->counters.send_calls++;
    int r = sendmmsg(s->fd, &s->send_msgs[k], (unsigned)(count - k), 0);
    if (r > 0) {
      for (int i = k; i < k + r; i++) {
        s->counters.datagrams_sent += s->send_segments[i];
        if (s->send_segments[i] > 1) s->counters.gso_messages++;
      }
      k += r;
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      enqueue_messages(s, k, count);
      return;
    }
    if (s->send_segments[k] > 1) {
      /* EIO: the route cannot checksum a GSO message (the kernel then never will): stop using it. */
      if (err == EIO) s->gso = 0;
      send_split(s, k);
    } else {
      /* This datagram's own problem (bad address, unreachable network): skip it, go on. */
      s->counters.send_errors++;
      s->counters.last_send_errno = err;
    }
    k++;
  }
}

/* Builds messages from the send table: runs to one destination, equal sizes but a shorter last. */
static int build_messages(sock_t *s, uint32_t count) {
  int messages = 0;
  uint32_t i = 0;
  while (i < count) {
    const uint32_t *m = &s->send_meta[i * META_WORDS];
    uint32_t offset = m[0], length = m[1];
    if (offset + length > s->slot_size * s->send_slots || length == 0) {
      s->counters.send_errors++;
      s->counters.last_send_errno = EINVAL;
      i++;
      continue;
    }
    socklen_t addrlen = meta_to_sockaddr(m, &s->send_addr[messages]);
    if (addrlen == 0) {
      s->counters.send_errors++;
      s->counters.last_send_errno = EAFNOSUPPORT;
      i++;
      continue;
    }
    uint32_t j = i;
    uint32_t bytes = 0;
    int segments = 0;
    for (;;) {
      const uint32_t *n = &s->send_meta[j * META_WORDS];
      s->send_iov[j].iov_base = s->send_buffer + n[0];
      s->send_iov[j].iov_len = n[1];
      bytes += n[1];
      segments++;
      j++;
      if (!s->gso || j >= count || segments >= GSO_MAX_SEGMENTS || n[1] < length) break;
      const uint32_t *next = &s->send_meta[j * META_WORDS];
      if (next[1] > length || next[1] == 0 || next[0] + next[1] > s->slot_size * s->send_slots) break;
      if (bytes + next[1] > GSO_MAX_BYTES || !same_destination(m, next)) break;
    }
    struct msghdr *h = &s->send_msgs[messages].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &s->send_addr[messages];
    h->msg_namelen = addrlen;
    h->msg_iov = &s->send_iov[i];
    h->msg_iovlen = j - i;
    if (segments > 1) {
      h->msg_control = s->send_control[messages];
      h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t size = (uint16_t)length;
      memcpy(CMSG_DATA(c), &size, sizeof size);
    }
    s->send_segments[messages] = segments;
    messages++;
    i = j;
  }
  return messages;
}

/* Sends queued datagrams while the kernel takes them; true once the queue is empty. */
static int drain_queue(sock_t *s) {
  while (s->queue_head != NULL) {
    struct mmsghdr msgs[64];
    struct iovec iov[64];
    queued_t *q = s->queue_head;
    int n = 0;
    for (; q != NULL && n < 64; q = q->next, n++) {
      memset(&msgs[n], 0, sizeof msgs[n]);
      iov[n].iov_base = q->data;
      iov[n].iov_len = q->length;
      msgs[n].msg_hdr.msg_name = &q->addr;
      msgs[n].msg_hdr.msg_namelen = q->addrlen;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
    }
    s->counters.send_calls++;
    int r = sendmmsg(s->fd, msgs, (unsigned)n, 0);
    int sent = r;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;
      /* The first queued datagram's own error: drop it. */
      s->counters.send_errors++;
      s->counters.last_send_errno = errno;
      sent = 1;
    } else {
      s->counters.datagrams_sent += r;
    }
    for (int i = 0; i < sent; i++) {
      queued_t *done = s->queue_head;
      s->queue_head = done->next;
      free(done);
    }
    if (s->queue_head == NULL) s->queue_tail = NULL;
  }
  return 1;
}

/* ---- calling JavaScript from the loop ---------------------------------------------------- */

static void call_js(sock_t *s, napi_ref ref, int argc, double arg) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value recv, fn, argv[1], result;
  if (napi_get_reference_value(env, s->self, &recv) == napi_ok && napi_get_reference_value(env, ref, &fn) == napi_ok) {
    napi_create_double(env, arg, &argv[0]);
    napi_status status = napi_make_callback(env, s->async, recv, fn, (size_t)argc, argv, &result);
    if (status == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* ---- receiving --------------------------------------------------------------------------- */

static void receive(sock_t *s) {
  for (int round = 0; round < RECV_ROUNDS && !s->closed; round++) {
    for (int i = 0; i < RECV_VLEN; i++) {
      struct msghdr *h = &s->recv_msgs[i].msg_hdr;
      s->recv_iov[i].iov_base = s->recv_buffer + (size_t)i * RECV_BUF;
      s->recv_iov[i].iov_len = RECV_BUF;
      h->msg_name = &s->recv_addr[i];
      h->msg_namelen = sizeof s->recv_addr[i];
      h->msg_iov = &s->recv_iov[i];
      h->msg_iovlen = 1;
      h->msg_control = s->gro ? s->recv_control[i] : NULL;
      h->msg_controllen = s->gro ? sizeof s->recv_control[i] : 0;
      h->msg_flags = 0;
    }
    s->counters.recv_calls++;
    int n = recvmmsg(s->fd, s->recv_msgs, RECV_VLEN, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      /* A pending ICMP error and the like: count it, the socket goes on. */
      s->counters.recv_errors++;
      s->counters.last_recv_errno = errno;
      continue;
    }
    uint32_t count = 0;
    for (int i = 0; i < n; i++) {
      struct msghdr *h = &s->recv_msgs[i].msg_hdr;
      uint32_t length = s->recv_msgs[i].msg_len;
      if (h->msg_flags & MSG_TRUNC) {
        s->counters.truncated++;
        continue;
      }
      uint32_t segment = 0;
      if (s->gro) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int size;
            memcpy(&size, CMSG_DATA(c), sizeof size);
            if (size > 0) segment = (uint32_t)size;
          }
        }
      }
      if (segment == 0 || segment >= length) segment = length;
      else s->counters.gro_runs++;
      uint32_t base = (uint32_t)i * RECV_BUF;
      /* An empty datagram is still a datagram (the endpoint counts and drops it). */
      uint32_t at = 0;
      do {
        if (count == RECV_MAX_DATAGRAMS) {
          /* More segments than the table holds (a run of tiny ones): the rest are dropped. */
          s->counters.truncated++;
          break;
        }
        uint32_t *m = &s->recv_meta[count * META_WORDS];
        m[0] = base + at;
        m[1] = length - at < segment ? length - at : segment;
        sockaddr_to_meta(&s->recv_addr[i], m);
        count++;
        at += segment;
      } while (at < length);
    }
    s->counters.datagrams_received += count;
    if (count > 0) {
      s->counters.batches++;
      call_js(s, s->on_batch, 1, count);
    }
    if (n < RECV_VLEN) return;
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  sock_t *s = handle->data;
  if (s->closed) return;
  if (status < 0) {
    s->counters.recv_errors++;
    s->counters.last_recv_errno = -status;
    return;
  }
  if (events & UV_WRITABLE) {
    if (drain_queue(s)) {
      arm_poll(s);
      call_js(s, s->on_drain, 0, 0);
      if (s->closed) return;
    }
  }
  if (events & UV_READABLE) receive(s);
}

static void arm_poll(sock_t *s) {
  if (!s->polling || s->closed) return;
  int want_writable = s->queue_head != NULL;
  if (want_writable == s->writable_armed) return;
  s->writable_armed = want_writable;
  uv_poll_start(&s->poll, UV_READABLE | (want_writable ? UV_WRITABLE : 0), on_poll);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *handle) {
  release((sock_t *)handle->data);
}

static void close_socket(sock_t *s) {
  if (s->closed) return;
  s->closed = 1;
  if (s->polling) {
    s->polling = 0;
    /* uv_close stops the poll and removes the fd from epoll at once, so the fd can close now. */
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->self != NULL) {
    napi_delete_reference(s->env, s->self);
    s->self = NULL;
  }
}

static void cleanup_hook(void *data) {
  close_socket((sock_t *)data);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  sock_t *s = data;
  napi_remove_env_cleanup_hook(env, cleanup_hook, s);
  close_socket(s);
  if (s->on_batch != NULL) napi_delete_reference(env, s->on_batch);
  if (s->on_drain != NULL) napi_delete_reference(env, s->on_drain);
  napi_async_destroy(env, s->async);
  release(s);
}

static sock_t *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a UdpBatchSocket");
    return NULL;
  }
  return data;
}

static napi_value shared_buffer(napi_env env, size_t size, void **data) {
  napi_value buffer;
  if (napi_create_buffer(env, size, data, &buffer) != napi_ok) return NULL;
  return buffer;
}

static napi_value shared_words(napi_env env, size_t words, uint32_t **data) {
  napi_value array_buffer, array;
  void *raw;
  if (napi_create_arraybuffer(env, words * 4, &raw, &array_buffer) != napi_ok) return NULL;
  if (napi_create_typedarray(env, napi_uint32_array, words, array_buffer, 0, &array) != napi_ok) return NULL;
  *data = raw;
  return array;
}

/* new UdpBatchSocket(family: 4 | 6, onBatch(count), onDrain(), { gso, gro, slotSize }) */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t family = 0;
  CALL(env, napi_get_value_int32(env, argv[0], &family));
  if (family != 4 && family != 6) {
    napi_throw_range_error(env, NULL, "family must be 4 or 6");
    return NULL;
  }
  bool want_gso = true, want_gro = true;
  uint32_t slot_size = DEFAULT_SLOT_SIZE;
  napi_valuetype type;
  CALL(env, napi_typeof(env, argv[3], &type));
  if (type == napi_object) {
    napi_value value;
    napi_valuetype value_type;
    if (napi_get_named_property(env, argv[3], "gso", &value) == napi_ok) napi_get_value_bool(env, value, &want_gso);
    if (napi_get_named_property(env, argv[3], "gro", &value) == napi_ok) napi_get_value_bool(env, value, &want_gro);
    if (napi_get_named_property(env, argv[3], "slotSize", &value) == napi_ok && napi_typeof(env, value, &value_type) == napi_ok && value_type == napi_number) {
      napi_get_value_uint32(env, value, &slot_size);
    }
  }
  if (slot_size < 1200 || slot_size > MAX_SLOT_SIZE) {
    napi_throw_range_error(env, NULL, "slotSize must be from 1200 to 65527");
    return NULL;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (family == 6) {
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  sock_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  s->refs = 1;
  s->slot_size = slot_size;
  s->send_slots = SEND_BUFFER_BYTES / slot_size;
  if (s->send_slots < MIN_SEND_SLOTS) s->send_slots = MIN_SEND_SLOTS;
  if (s->send_slots > SEND_SLOTS) s->send_slots = SEND_SLOTS;
  int zero = 0, one = 1;
  s->gso = want_gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
  s->gro = want_gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  napi_value values[6];
  values[0] = shared_buffer(env, (size_t)RECV_VLEN * RECV_BUF, (void **)&s->recv_buffer);
  values[1] = shared_words(env, (size_t)RECV_MAX_DATAGRAMS * META_WORDS, &s->recv_meta);
  values[2] = shared_buffer(env, (size_t)s->slot_size * s->send_slots, (void **)&s->send_buffer);
  values[3] = shared_words(env, (size_t)s->send_slots * META_WORDS, &s->send_meta);
  if (napi_create_uint32(env, s->slot_size, &values[4]) != napi_ok) values[4] = NULL;
  if (napi_create_uint32(env, s->send_slots, &values[5]) != napi_ok) values[5] = NULL;
  for (int i = 0; i < 6; i++) {
    if (values[i] == NULL) {
      close(fd);
      free(s);
      napi_throw_error(env, NULL, "out of memory for the socket's buffers");
      return NULL;
    }
  }
  napi_property_descriptor props[] = {
    {"recvBuffer", NULL, NULL, NULL, NULL, values[0], napi_enumerable, NULL},
    {"recvMeta", NULL, NULL, NULL, NULL, values[1], napi_enumerable, NULL},
    {"sendBuffer", NULL, NULL, NULL, NULL, values[2], napi_enumerable, NULL},
    {"sendMeta", NULL, NULL, NULL, NULL, values[3], napi_enumerable, NULL},
    {"slotSize", NULL, NULL, NULL, NULL, values[4], napi_enumerable, NULL},
    {"sendSlots", NULL, NULL, NULL, NULL, values[5], napi_enumerable, NULL},
  };
  CALL(env, napi_define_properties(env, self, 6, props));
  CALL(env, napi_create_reference(env, argv[1], 1, &s->on_batch));
  CALL(env, napi_create_reference(env, argv[2], 1, &s->on_drain));
  napi_value name;
  CALL(env, napi_create_string_utf8(env, "qfaas:UdpBatchSocket", NAPI_AUTO_LENGTH, &name));
  CALL(env, napi_async_init(env, self, name, &s->async));
  CALL(env, napi_wrap(env, self, s, finalize, NULL, NULL));
  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  return self;
}

/* bind(host: string, port: number): number (the bound port); starts receiving. */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  void *data;
  CALL(env, napi_unwrap(env, self, &data));
  sock_t *s = data;
  if (s->closed || s->polling) {
    napi_throw_error(env, "ERR_SOCKET_BOUND", "socket already bound or closed");
    return NULL;
  }
  char host[HOST_MAX];
  int32_t port;
  CALL(env, napi_get_value_int32(env, argv[1], &port));
  /* As node:dgram: an address of the socket's family, an IPv6 one with its zone if it has one. */
  uint32_t m[META_WORDS] = {0};
  m[2] = (uint16_t)port;
  if (!host_text(env, argv[0], host) || !parse_host(host, m) || m[3] != (uint32_t)s->family) return throw_errno(env, EINVAL, "bind");
  struct sockaddr_storage addr;
  socklen_t addrlen = meta_to_sockaddr(m, &addr);
  if (bind(s->fd, (struct sockaddr *)&addr, addrlen) != 0) return throw_errno(env, errno, "bind");
  uv_loop_t *loop;
  CALL(env, napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &s->poll, s->fd) != 0) return throw_errno(env, EINVAL, "uv_poll_init");
  s->poll.data = s;
  s->polling = 1;
  s->refs++;
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  CALL(env, napi_create_reference(env, self, 1, &s->self));
  socklen_t len = sizeof addr;
  getsockname(s->fd, (struct sockaddr *)&addr, &len);
  napi_value result;
  CALL(env, napi_create_uint32(env, s->family == 4 ? ntohs(((struct sockaddr_in *)&addr)->sin_port) : ntohs(((struct sockaddr_in6 *)&addr)->sin6_port), &result));
  return result;
}

/* sendBatch(count): true when everything went to the kernel, false when some wait for writable. */
static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  uint32_t count;
  CALL(env, napi_get_value_uint32(env, argv[0], &count));
  if (count > s->send_slots) count = s->send_slots;
  if (!s->closed && count > 0) {
    int messages = build_messages(s, count);
    send_messages(s, messages);
    arm_poll(s);
  }
  napi_value result;
  CALL(env, napi_get_boolean(env, s->queue_head == NULL, &result));
  return result;
}

static napi_value set_buffer_size(napi_env env, napi_callback_info info, int option) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  int32_t size;
  CALL(env, napi_get_value_int32(env, argv[0], &size));
  if (s->closed) return throw_errno(env, EBADF, "setsockopt");
  if (setsockopt(s->fd, SOL_SOCKET, option, &size, sizeof size) != 0) return throw_errno(env, errno, "setsockopt");
  return NULL;
}

static napi_value js_set_recv_buffer_size(napi_env env, napi_callback_info info) {
  return set_buffer_size(env, info, SO_RCVBUF);
}

static napi_value js_set_send_buffer_size(napi_env env, napi_callback_info info) {
  return set_buffer_size(env, info, SO_SNDBUF);
}

static napi_value get_buffer_size(napi_env env, napi_callback_info info, int option) {
  size_t argc = 0;
  sock_t *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  int size = 0;
  socklen_t len = sizeof size;
  if (s->closed) return throw_errno(env, EBADF, "getsockopt");
  if (getsockopt(s->fd, SOL_SOCKET, option, &size, &len) != 0) return throw_errno(env, errno, "getsockopt");
  napi_value result;
  CALL(env, napi_create_int32(env, size, &result));
  return result;
}

static napi_value js_get_recv_buffer_size(napi_env env, napi_callback_info info) {
  return get_buffer_size(env, info, SO_RCVBUF);
}

static napi_value js_get_send_buffer_size(napi_env env, napi_callback_info info) {
  return get_buffer_size(env, info, SO_SNDBUF);
}

static napi_value js_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *s = unwrap(env, info, &argc, NULL);
  if (s != NULL && s->polling) uv_ref((uv_handle_t *)&s->poll);
  return NULL;
}

static napi_value js_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *s = unwrap(env, info, &argc, NULL);
  if (s != NULL && s->polling) uv_unref((uv_handle_t *)&s->poll);
  return NULL;
}

/* close(): the fd is closed at once (the port is free when this returns); queued sends are dropped. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *s = unwrap(env, info, &argc, NULL);
  if (s != NULL) close_socket(s);
  return NULL;
}

static void set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, object, name, v);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  napi_value o;
  CALL(env, napi_create_object(env, &o));
  counters_t *c = &s->counters;
  size_t queued = 0;
  for (queued_t *q = s->queue_head; q != NULL; q = q->next) queued++;
  set_number(env, o, "sendCalls", c->send_calls);
  set_number(env, o, "datagramsSent", c->datagrams_sent);
  set_number(env, o, "gsoMessages", c->gso_messages);
  set_number(env, o, "sendErrors", c->send_errors);
  set_number(env, o, "lastSendErrno", c->last_send_errno);
  set_number(env, o, "queuedDatagrams", c->queued_datagrams);
  set_number(env, o, "queueLength", (double)queued);
  set_number(env, o, "recvCalls", c->recv_calls);
  set_number(env, o, "datagramsReceived", c->datagrams_received);
  set_number(env, o, "groRuns", c->gro_runs);
  set_number(env, o, "recvErrors", c->recv_errors);
  set_number(env, o, "lastRecvErrno", c->last_recv_errno);
  set_number(env, o, "truncated", c->truncated);
  set_number(env, o, "batches", c->batches);
  napi_value flag;
  napi_get_boolean(env, s->gso, &flag);
  napi_set_named_property(env, o, "gso", flag);
  napi_get_boolean(env, s->gro, &flag);
  napi_set_named_property(env, o, "gro", flag);
  return o;
}

/* parseAddress(host): [family, w0, w1, w2, w3, scope] or undefined when host is not an address
 * or its zone ("fe80::1%eth0", "%3") names no interface (module function). */
static napi_value js_parse_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[HOST_MAX];
  uint32_t m[META_WORDS];
  if (!host_text(env, argv[0], host) || !parse_host(host, m)) return NULL;
  napi_value array;
  CALL(env, napi_create_array_with_length(env, 6, &array));
  for (uint32_t i = 0; i < 6; i++) {
    napi_value v;
    CALL(env, napi_create_uint32(env, m[3 + i], &v));
    CALL(env, napi_set_element(env, array, i, v));
  }
  return array;
}

/* formatAddress(family, w0, w1, w2, w3, scope): the text node:dgram reports: inet_ntop's, and a
 * link-local IPv6 address with "%" and its interface's name (its index if it has none now). */
static napi_value js_format_address(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t m[META_WORDS] = {0};
  for (int i = 0; i < 6; i++) CALL(env, napi_get_value_uint32(env, argv[i], &m[3 + i]));
  struct sockaddr_storage addr;
  if (meta_to_sockaddr(m, &addr) == 0) return NULL;
  char text[HOST_MAX];
  const struct in6_addr *v6 = &((struct sockaddr_in6 *)&addr)->sin6_addr;
  const void *src = m[3] == 4 ? (const void *)&((struct sockaddr_in *)&addr)->sin_addr : (const void *)v6;
  if (inet_ntop(m[3] == 4 ? AF_INET : AF_INET6, src, text, INET6_ADDRSTRLEN) == NULL) return NULL;
  if (m[3] == 6 && m[8] != 0 && IN6_IS_ADDR_LINKLOCAL(v6)) {
    size_t length = strlen(text);
    text[length] = '%';
    if (if_indextoname(m[8], text + length + 1) == NULL) snprintf(text + length + 1, sizeof text - length - 1, "%u", m[8]);
  }
  napi_value result;
  CALL(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
    {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
    {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_default, NULL},
    {"setRecvBufferSize", NULL, js_set_recv_buffer_size, NULL, NULL, NULL, napi_default, NULL},
    {"setSendBufferSize", NULL, js_set_send_buffer_size, NULL, NULL, NULL, napi_default, NULL},
    {"getRecvBufferSize", NULL, js_get_recv_buffer_size, NULL, NULL, NULL, napi_default, NULL},
    {"getSendBufferSize", NULL, js_get_send_buffer_size, NULL, NULL, NULL, napi_default, NULL},
    {"ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL},
    {"unref", NULL, js_unref, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  if (napi_define_class(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, construct, NULL, sizeof methods / sizeof methods[0], methods, &cls) != napi_ok) return NULL;
  napi_value constants[4];
  napi_create_uint32(env, DEFAULT_SLOT_SIZE, &constants[0]);
  napi_create_uint32(env, MAX_SLOT_SIZE, &constants[1]);
  napi_create_uint32(env, META_WORDS, &constants[2]);
  napi_create_uint32(env, RECV_MAX_DATAGRAMS, &constants[3]);
  napi_value parse, format;
  napi_create_function(env, "parseAddress", NAPI_AUTO_LENGTH, js_parse_address, NULL, &parse);
  napi_create_function(env, "formatAddress", NAPI_AUTO_LENGTH, js_format_address, NULL, &format);
  napi_property_descriptor exported[] = {
    {"UdpBatchSocket", NULL, NULL, NULL, NULL, cls, napi_enumerable, NULL},
    {"defaultSlotSize", NULL, NULL, NULL, NULL, constants[0], napi_enumerable, NULL},
    {"maxSlotSize", NULL, NULL, NULL, NULL, constants[1], napi_enumerable, NULL},
    {"metaWords", NULL, NULL, NULL, NULL, constants[2], napi_enumerable, NULL},
    {"maxReceivedPerBatch", NULL, NULL, NULL, NULL, constants[3], napi_enumerable, NULL},
    {"parseAddress", NULL, NULL, NULL, NULL, parse, napi_enumerable, NULL},
    {"formatAddress", NULL, NULL, NULL, NULL, format, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
