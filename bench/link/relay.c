/*
 * qfaas link relay: forwards IP packets between two TUN devices with a fixed one-way delay and
 * optional random loss, so benchmarks see a data-center-like link without netem.
 *
 *   relay <tun-outside> <netns-path> <tun-inside> <delay-us> <loss-ppm> <seed>
 *       Opens <tun-outside> in the current namespace and <tun-inside> inside <netns-path>.
 *       Reads "delay <us>" and "loss <ppm>" lines on stdin; exits when stdin closes, so the
 *       relay never outlives the benchmark that started it.
 *   relay echo <port>
 *       A UDP echo server (the link's self-check; run inside the namespace).
 *   relay ping <ipv4> <port> <count>
 *       Sends <count> 64-byte datagrams one at a time and prints each RTT in µs.
 * Ping spins on a non-blocking socket instead of sleeping, so that the self-check measures the
 * link rather than how long an idle process takes to wake up. The echo server sleeps: with ping
 * and the relay spinning, a third spinner on two cores would deschedule the relay.
 *
 * Precision: packets are stamped when read, held in a FIFO per direction (a fixed delay keeps
 * order), and written when due. The relay sleeps with ppoll() until shortly before the next
 * deadline and spins the rest, with timer slack at 1 ns: a plain millisecond poll would add up to
 * a millisecond per packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOT_BYTES 9216 /* a 9000-byte MTU (jumbo frames) and then some */
#define SLOTS 4096 /* per direction: a queue deeper than any benchmark's window */
#define SPIN_NS 150000LL

struct slot {
  int64_t due_ns;
  uint16_t len;
  unsigned char data[SLOT_BYTES];
};

struct queue {
  struct slot *slots;
  unsigned head, tail; /* head: next to send; tail: next free */
  uint64_t forwarded, dropped_full, dropped_loss;
  int64_t late_sum_ns, late_max_ns; /* how far after its due time each packet left */
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (strlen(name) >= IFNAMSIZ) {
    fprintf(stderr, "relay: device name too long: %s\n", name);
    exit(1);
  }
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die(name);
  return fd;
}

/* xorshift64*: loss decisions only need to be uniform and reproducible from the seed. */
static uint64_t rng_state;
static uint64_t rng_next(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static int64_t delay_ns;
static uint32_t loss_ppm;

/* Reads every packet waiting on `fd` into `q`, stamped with its due time. */
static void take_in(int fd, struct queue *q) {
  for (;;) {
    struct slot *s = &q->slots[q->tail % SLOTS];
    ssize_t n = read(fd, s->data, SLOT_BYTES);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read");
    }
    if (loss_ppm > 0 && rng_next() % 1000000 < loss_ppm) {
      q->dropped_loss++;
      continue;
    }
    if (q->tail - q->head >= SLOTS) {
      q->dropped_full++;
      continue;
    }
    s->len = (uint16_t)n;
    s->due_ns = now_ns() + delay_ns;
    q->tail++;
  }
}

/* Writes the packets of `q` that are due; returns the next due time, or -1 when empty. */
static int64_t send_due(int fd, struct queue *q, int64_t now) {
  while (q->head != q->tail) {
    struct slot *s = &q->slots[q->head % SLOTS];
    if (s->due_ns > now) return s->due_ns;
    /* A full TUN queue drops, as a router would; a benchmark sees it as loss. */
    int64_t late = now_ns() - s->due_ns;
    if (write(fd, s->data, s->len) < 0 && errno != EAGAIN) die("write");
    q->late_sum_ns += late;
    if (late > q->late_max_ns) q->late_max_ns = late;
    q->forwarded++;
    q->head++;
  }
  return -1;
}

static void control_line(char *line) {
  long long value;
  if (sscanf(line, "delay %lld", &value) == 1 && value >= 0) delay_ns = value * 1000LL;
  else if (sscanf(line, "loss %lld", &value) == 1 && value >= 0 && value <= 1000000) loss_ppm = (uint32_t)value;
  else {
    fprintf(stderr, "relay: unknown control line: %s\n", line);
    return;
  }
  printf("ok\n");
  fflush(stdout);
}

static int relay(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: relay <tun-outside> <netns-path> <tun-inside> <delay-us> <loss-ppm> <seed>\n");
    return 2;
  }
  delay_ns = atoll(argv[4]) * 1000LL;
  loss_ppm = (uint32_t)atol(argv[5]);
  rng_state = (uint64_t)atoll(argv[6]) | 1;
  prctl(PR_SET_TIMERSLACK, 1UL);

  int outside = open_tun(argv[1]);
  int netns = open(argv[2], O_RDONLY | O_CLOEXEC);
  if (netns < 0) die(argv[2]);
  /* A TUN file binds to the namespace it is opened in: enter, open, and the fd stays there. */
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("/proc/self/ns/net");
  if (setns(netns, CLONE_NEWNET) < 0) die("setns");
  int inside = open_tun(argv[3]);
  if (setns(home, CLONE_NEWNET) < 0) die("setns back");
  close(netns);
  close(home);

  struct queue out_to_in = {0}, in_to_out = {0};
  out_to_in.slots = calloc(SLOTS, sizeof(struct slot));
  in_to_out.slots = calloc(SLOTS, sizeof(struct slot));
  if (out_to_in.slots == NULL || in_to_out.slots == NULL) die("calloc");

  int flags = fcntl(STDIN_FILENO, F_GETFL);
  fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);
  char control[256];
  size_t control_len = 0;

  printf("ready\n");
  fflush(stdout);

  struct pollfd fds[3] = {{outside, POLLIN, 0}, {inside, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  for (;;) {
    int64_t now = now_ns();
    int64_t next_a = send_due(inside, &out_to_in, now);
    int64_t next_b = send_due(outside, &in_to_out, now);
    int64_t next = next_a < 0 ? next_b : (next_b < 0 || next_a < next_b ? next_a : next_b);
    struct timespec timeout, *timeout_p = NULL;
    if (next >= 0) {
      int64_t wait = next - now - SPIN_NS;
      if (wait < 0) wait = 0;
      timeout.tv_sec = wait / 1000000000LL;
      timeout.tv_nsec = wait % 1000000000LL;
      timeout_p = &timeout;
    }
    int ready = ppoll(fds, 3, timeout_p, NULL);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    if (fds[0].revents & POLLIN) take_in(outside, &out_to_in);
    if (fds[1].revents & POLLIN) take_in(inside, &in_to_out);
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, control + control_len, sizeof control - 1 - control_len);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
      if (n > 0) control_len += (size_t)n;
      char *newline;
      while ((newline = memchr(control, '\n', control_len)) != NULL) {
        *newline = '\0';
        control_line(control);
        size_t used = (size_t)(newline - control) + 1;
        memmove(control, newline + 1, control_len - used);
        control_len -= used;
      }
      if (control_len == sizeof control - 1) control_len = 0; /* an overlong line is dropped */
    }
  }
  uint64_t forwarded = out_to_in.forwarded + in_to_out.forwarded;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu_s = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
  int64_t late_max = out_to_in.late_max_ns > in_to_out.late_max_ns ? out_to_in.late_max_ns : in_to_out.late_max_ns;
  fprintf(stderr,
          "relay: forwarded %llu/%llu, lost %llu/%llu, queue full %llu/%llu (outside→inside/inside→outside); "
          "sent after due time: mean %.1f µs, max %.1f µs; CPU %.2f s\n",
          (unsigned long long)out_to_in.forwarded, (unsigned long long)in_to_out.forwarded,
          (unsigned long long)out_to_in.dropped_loss, (unsigned long long)in_to_out.dropped_loss,
          (unsigned long long)out_to_in.dropped_full, (unsigned long long)in_to_out.dropped_full,
          forwarded == 0 ? 0.0 : (double)(out_to_in.late_sum_ns + in_to_out.late_sum_ns) / (double)forwarded / 1000.0,
          (double)late_max / 1000.0, cpu_s);
  return 0;
}

static int echo(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: relay echo <port>\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])), .sin_addr = {htonl(INADDR_ANY)}};
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  printf("ready\n");
  fflush(stdout);
  unsigned char buffer[2048];
  for (;;) {
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvfrom");
    }
    sendto(fd, buffer, (size_t)n, 0, (struct sockaddr *)&from, from_len);
  }
}

static int ping(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: relay ping <ipv4> <port> <count>\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) {
    fprintf(stderr, "relay: not an IPv4 address: %s\n", argv[2]);
    return 2;
  }
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  int count = atoi(argv[4]);
  unsigned char buffer[64] = {0};
  for (int i = 0; i < count; i++) {
    // Up to three tries of 1 s each: on a loaded machine one echo can be lost while the echo
    // server or the relay is not scheduled; the RTT is measured from the try that was answered.
    int64_t started = 0;
    int answered = 0;
    for (int attempt = 0; attempt < 3 && !answered; attempt++) {
      started = now_ns();
      if (send(fd, buffer, sizeof buffer, 0) < 0) die("send");
      for (;;) {
        if (recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) >= 0) {
          answered = 1;
          break;
        }
        if (errno != EAGAIN && errno != EINTR) die("recv");
        if (now_ns() - started > 1000000000LL) break;
      }
    }
    if (!answered) {
      printf("timeout\n");
      fflush(stdout);
      return 1;
    }
    printf("%.1f\n", (double)(now_ns() - started) / 1000.0);
  }
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 2 && strcmp(argv[1], "echo") == 0) return echo(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "ping") == 0) return ping(argc, argv);
  return relay(argc, argv);
}
