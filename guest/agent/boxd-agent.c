/*
 * boxd-agent: the guest side of the boxd agent protocol (docs/agent-protocol.md).
 *
 * It runs as root inside every VM and serves the host over one virtio-serial port
 * (default /dev/virtio-ports/boxd.agent).  With --unix PATH it instead *listens* on a Unix
 * socket and serves one client at a time, which is how it is tested on a developer machine.
 *
 * Design, in short:
 *  - One thread, one poll() loop, every fd non-blocking.  VMs run under TCG, so the loop must
 *    sleep in poll() whenever there is nothing to do: an idle agent costs no CPU.
 *  - Everything bound for the host goes through one output queue (g.out).  Producers of bulk
 *    data (children's stdout/stderr, GET files) are only read while that queue is below
 *    OUT_HIGH_WATER, so a slow host throttles the children instead of growing our memory.
 *  - Host->guest DATA is written to the child/file and then ACKed; a child that does not read
 *    its stdin only stops its own channel (the host holds at most 1 MiB unacknowledged).
 *  - Users are looked up by parsing /etc/passwd and /etc/group directly: static glibc's
 *    getpwnam() needs the NSS shared libraries of the exact glibc we were linked against.
 *  - PUT/GET touch the filesystem with the fsuid/fsgid and groups of the requested user
 *    (setfsuid drops CAP_DAC_OVERRIDE & co.), so user "boxd" cannot write root's files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION "1.0.0"
#define DEFAULT_DEVICE "/dev/virtio-ports/boxd.agent"

/* ------------------------------------------------------------------------------------------ */
/* Protocol constants                                                                          */

enum {
    T_HELLO = 0x01, T_EXEC = 0x02, T_DATA = 0x03, T_RESIZE = 0x04, T_SIGNAL = 0x05,
    T_PUT = 0x06, T_GET = 0x07, T_IDENTITY = 0x08, T_TIME = 0x09,
    R_OUT = 0x80, R_HELLO = 0x81, R_STARTED = 0x82, R_META = 0x83, R_DONE = 0x84,
    R_ERR = 0x85, R_EXIT = 0x86, R_ACK = 0x87, R_ERROR = 0x8F,
};

#define HDR_LEN 9                       /* u32 length + u8 type + u32 channel */
#define MAX_PAYLOAD 65536
#define NONCE_LEN 16
#define SYNC_MAGIC "BXSYNC\r\n"

#define OUT_HIGH_WATER (512u * 1024)    /* stop reading bulk producers above this much unsent */
#define MAX_STDIN_QUEUE (8u << 20)      /* the host may have 1 MiB in flight; far more = host bug */
#define MAX_SKIPPED_FRAME (16u << 20)   /* an oversized frame up to this is skipped, not fatal */
#define CLOSED_RING 1024                /* remembered ids of finished channels (see is_closed) */
#define TIMEOUT_GRACE_MS 500            /* after timeout_ms: how long to wait for pipe EOF */
#define DISCONNECTED_FAST_MS 10         /* virtio re-poll period right after the host closed */
#define DISCONNECTED_SLOW_MS 100        /* ... after DISCONNECTED_FAST_FOR_MS of waiting */
#define DISCONNECTED_FAST_FOR_MS 1000
#define NETLINK_TIMEOUT_MS 2000         /* an rtnetlink answer; the kernel replies at once */
#define SSHD_PIDFILE "/run/sshd.pid"
/* guest/image enables this path unit: systemd starts ssh.service once the host key exists. */
#define MAX_GROUPS 256

/* The first 9 bytes of every HELLO frame: length 21, type 0x01, channel 0. */
static const unsigned char HELLO_HDR[HDR_LEN] = {0, 0, 0, 5 + NONCE_LEN, T_HELLO, 0, 0, 0, 0};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */

static int verbose;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line keeps lines whole in the journal. */
    dprintf(2, "boxd-agent: %s\n", line);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        /* Nothing sensible to do; systemd restarts us (Restart=always). */
        logmsg("out of memory");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, v >> 32);
    put_be32(p + 4, (uint32_t)v);
}

/* strerror() with a lower-case first letter, so messages read "no such file or directory: /x". */
static const char *errstr(int e)
{
    static char s[128];
    snprintf(s, sizeof s, "%s", strerror(e));
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
    return s;
}

static void xclose(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Strictly parses an unsigned number; returns -1 unless all of s is a number <= max. */
static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Writes all of p, retrying on short writes (regular files, blocking fds). */
static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Byte buffers: valid bytes are p[off, off+len)                                               */

struct buf {
    unsigned char *p;
    size_t off, len, cap;
};

static unsigned char *buf_head(struct buf *b) { return b->p + b->off; }

/* Returns room for at least `need` more bytes at the tail (compacting, then growing). */
static unsigned char *buf_space(struct buf *b, size_t need)
{
    if (b->cap - b->off - b->len < need) {
        if (b->off) {
            memmove(b->p, b->p + b->off, b->len);
            b->off = 0;
        }
        if (b->cap - b->len < need) {
            size_t nc = b->cap ? b->cap : 4096;
            while (nc - b->len < need)
                nc *= 2;
            b->p = xrealloc(b->p, nc);
            b->cap = nc;
        }
    }
    return b->p + b->off + b->len;
}

static void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n) {
        memcpy(buf_space(b, n), p, n);
        b->len += n;
    }
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0) {
        b->off = 0;
        /* Do not keep a burst's worth of memory around forever. */
        if (b->cap > (4u << 20))
            buf_free(b);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Users: parsed from /etc/passwd and /etc/group (see the header comment for why)              */

struct user {
    char name[256];
    uid_t uid;
    gid_t gid;
    char home[PATH_MAX];
    char shell[PATH_MAX];
    int ngroups;
    gid_t groups[MAX_GROUPS];
};

/* Splits line at ':' into at most max fields; returns the number of fields. */
static int split_colon(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        f[n++] = line;
        char *c = strchr(line, ':');
        if (!c)
            break;
        *c = 0;
        line = c + 1;
    }
    return n;
}

static int is_number(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Supplementary groups, as initgroups(3) would compute them. */
static void load_groups(struct user *u)
{
    u->ngroups = 0;
    u->groups[u->ngroups++] = u->gid;
    FILE *f = fopen("/etc/group", "re");
    if (!f)
        return;
    char *line = NULL, *fld[4];
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0 && u->ngroups < MAX_GROUPS) {
        uint64_t gid;
        if (split_colon(line, fld, 4) < 4 || parse_u64(fld[2], 10, UINT32_MAX - 1, &gid) < 0)
            continue;
        for (char *save = NULL, *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
            if (strcmp(m, u->name) != 0)
                continue;
            int dup = 0;
            for (int i = 0; i < u->ngroups; i++)
                dup |= u->groups[i] == (gid_t)gid;
            if (!dup)
                u->groups[u->ngroups++] = (gid_t)gid;
            break;
        }
    }
    free(line);
    fclose(f);
}

/* Finds a user by name (or, failing that, by numeric uid).  Returns 0, or -1 with errno
 * (ENOENT = no such user). */
static int lookup_user(const char *name, struct user *u)
{
    FILE *f = fopen("/etc/passwd", "re");
    if (!f)
        return -1;
    char *line = NULL, *fld[7];
    size_t cap = 0;
    int found = 0, numeric = is_number(name);
    while (!found && getline(&line, &cap, f) > 0) {
        int n = split_colon(line, fld, 7);
        uint64_t uid, gid;
        if (n < 6 || parse_u64(fld[2], 10, UINT32_MAX - 1, &uid) < 0 ||
            parse_u64(fld[3], 10, UINT32_MAX - 1, &gid) < 0)
            continue;
        if (strcmp(fld[0], name) != 0 && !(numeric && strcmp(fld[2], name) == 0))
            continue;
        found = 1;
        snprintf(u->name, sizeof u->name, "%s", fld[0]);
        u->uid = (uid_t)uid;
        u->gid = (gid_t)gid;
        snprintf(u->home, sizeof u->home, "%s", *fld[5] ? fld[5] : "/");
        snprintf(u->shell, sizeof u->shell, "%s", n > 6 && *fld[6] ? fld[6] : "/bin/sh");
    }
    free(line);
    fclose(f);
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    load_groups(u);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Map payloads: key NUL value NUL ...                                                         */

struct map {
    size_t n;
    const char **k, **v;
};

static void map_free(struct map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* The strings point into the frame payload, which outlives the handler. */
static int map_parse(const unsigned char *p, size_t len, struct map *m)
{
    memset(m, 0, sizeof *m);
    if (len == 0)
        return 0;
    if (p[len - 1] != 0)
        return -1;
    size_t nul = 0;
    for (size_t i = 0; i < len; i++)
        nul += p[i] == 0;
    if (nul % 2)
        return -1;
    m->k = xrealloc(NULL, nul / 2 * sizeof *m->k);
    m->v = xrealloc(NULL, nul / 2 * sizeof *m->v);
    for (const char *s = (const char *)p; m->n < nul / 2; m->n++) {
        m->k[m->n] = s;
        s += strlen(s) + 1;
        m->v[m->n] = s;
        s += strlen(s) + 1;
        if (!*m->k[m->n]) {
            map_free(m);
            return -1;
        }
    }
    return 0;
}

/* The last value of key (keys other than env should not repeat; the last one wins). */
static const char *map_get(const struct map *m, const char *key)
{
    const char *r = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->k[i], key) == 0)
            r = m->v[i];
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Channels and global state                                                                   */

enum kind { K_EXEC, K_PUT, K_GET };

struct channel {
    uint32_t id;
    enum kind kind;
    int dead;                 /* closed; freed at the end of this loop iteration */
    struct channel *next_dead;

    /* EXEC */
    pid_t pid;
    int tty;
    int errp;                 /* CLOEXEC pipe: the child's setup error, or EOF once it exec'd */
    int started;              /* STARTED sent */
    int reaped, status;
    int timed_out;
    uint64_t deadline;        /* timeout_ms, monotonic; 0 = none */
    uint64_t grace;           /* after a timeout: give up waiting for pipe EOF at this time */
    int in_fd;                /* stdin pipe (write end); -1 for a tty (use master) */
    int out_fd, err_fd;       /* stdout/stderr pipes (read ends) */
    int master;               /* PTY master (tty=1): stdin and all output */
    struct buf inq;           /* stdin bytes not yet written */
    int in_eof;               /* the host sent empty DATA */
    int in_closed;            /* stdin finished: further DATA is ACKed and dropped */
    int veof_left;            /* tty: VEOF characters still to write */
    unsigned char veof;
    int at_line_start;        /* tty: last byte written ended a line */

    /* PUT / GET */
    int fd;
    char *path, *tmp;
    mode_t mode;
    struct user *user;        /* PUT: whose rights the final rename uses */
    uint64_t bytes;
};

static struct {
    const char *device, *unix_path;
    int port;                 /* host connection: virtio port or accepted socket; -1 = none */
    int listen_fd;            /* --unix */
    int sig_fd;               /* SIGCHLD, SIGIO */
    int connected;            /* the host side is open */
    int synced;               /* a HELLO arrived on this connection: frames are parsed */
    uint32_t skip;            /* bytes still to discard of a refused oversized frame */
    uint64_t disconnected_at;
    struct buf in, out;
    struct channel **chans;
    size_t nchans, capchans;
    struct channel *graveyard;
    uint32_t closed[CLOSED_RING];
    size_t nclosed, closed_pos;
    int reap_pending;
    int start_sshd;           /* an IDENTITY wrote a host key and sshd is not running */
    gid_t root_groups[MAX_GROUPS];
    int root_ngroups;
    struct rlimit nofile;     /* the limit we inherited, restored in children */
} g = {.port = -1, .listen_fd = -1, .sig_fd = -1};

static struct channel *find_channel(uint32_t id)
{
    for (size_t i = 0; i < g.nchans; i++)
        if (g.chans[i]->id == id)
            return g.chans[i];
    return NULL;
}

/* Frames for a channel that already ended (EXIT/DONE/ERROR sent) are dropped silently: the
 * host may have had DATA or SIGNAL in flight.  Frames for ids never seen get an ERROR. */
static int is_closed(uint32_t id)
{
    for (size_t i = 0; i < g.nclosed; i++)
        if (g.closed[i] == id)
            return 1;
    return 0;
}

static void remember_closed(uint32_t id)
{
    g.closed[g.closed_pos] = id;
    g.closed_pos = (g.closed_pos + 1) % CLOSED_RING;
    if (g.nclosed < CLOSED_RING)
        g.nclosed++;
}

static struct channel *new_channel(uint32_t id, enum kind kind)
{
    struct channel *c = xrealloc(NULL, sizeof *c);
    memset(c, 0, sizeof *c);
    c->id = id;
    c->kind = kind;
    c->errp = c->in_fd = c->out_fd = c->err_fd = c->master = c->fd = -1;
    c->at_line_start = 1;
    if (g.nchans == g.capchans) {
        g.capchans = g.capchans ? 2 * g.capchans : 64;
        g.chans = xrealloc(g.chans, g.capchans * sizeof *g.chans);
    }
    g.chans[g.nchans++] = c;
    return c;
}

/* Signals the EXEC's process group (falls back to the pid while the child has not yet
 * called setsid).  Never signals a reaped pid: it could belong to someone else by now. */
static void kill_group(struct channel *c, int sig)
{
    if (c->pid <= 0)
        return;
    if (killpg(c->pid, sig) < 0 && errno == ESRCH && !c->reaped)
        kill(c->pid, sig);
}

/* Ends a channel.  abort=1: the connection dropped it (HELLO, host gone, ERROR), so kill its
 * processes and remove a half-written file.  The struct is freed at the end of the loop
 * iteration, since pollfd entries may still point at it. */
static void close_channel(struct channel *c, int abort)
{
    if (c->dead)
        return;
    c->dead = 1;
    if (c->kind == K_EXEC && abort)
        kill_group(c, SIGKILL);   /* zombies are reaped later as unknown pids */
    xclose(&c->errp);
    xclose(&c->in_fd);
    xclose(&c->out_fd);
    xclose(&c->err_fd);
    xclose(&c->master);
    xclose(&c->fd);
    if (c->tmp)
        unlink(c->tmp);           /* a PUT that did not finish */
    buf_free(&c->inq);
    for (size_t i = 0; i < g.nchans; i++) {
        if (g.chans[i] == c) {
            g.chans[i] = g.chans[--g.nchans];
            break;
        }
    }
    remember_closed(c->id);
    c->next_dead = g.graveyard;
    g.graveyard = c;
}

static void free_graveyard(void)
{
    while (g.graveyard) {
        struct channel *c = g.graveyard;
        g.graveyard = c->next_dead;
        free(c->path);
        free(c->tmp);
        free(c->user);
        free(c);
    }
}

static void discard_all_channels(void)
{
    while (g.nchans)
        close_channel(g.chans[g.nchans - 1], 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Sending frames                                                                              */

static void send_frame2(uint8_t type, uint32_t chan, const void *a, size_t alen, const void *b,
                        size_t blen)
{
    if (!g.connected)
        return;
    if (alen + blen > MAX_PAYLOAD)
        blen = alen < MAX_PAYLOAD ? MAX_PAYLOAD - alen : 0;
    unsigned char *p = buf_space(&g.out, HDR_LEN + alen + blen);
    put_be32(p, (uint32_t)(5 + alen + blen));
    p[4] = type;
    put_be32(p + 5, chan);
    if (alen)
        memcpy(p + HDR_LEN, a, alen);
    if (blen)
        memcpy(p + HDR_LEN + alen, b, blen);
    g.out.len += HDR_LEN + alen + blen;
}

static void send_frame(uint8_t type, uint32_t chan, const void *p, size_t n)
{
    send_frame2(type, chan, p, n, NULL, 0);
}

static void send_u32(uint8_t type, uint32_t chan, uint32_t v)
{
    unsigned char b[4];
    put_be32(b, v);
    send_frame(type, chan, b, 4);
}

static void send_u64(uint8_t type, uint32_t chan, uint64_t v)
{
    unsigned char b[8];
    put_be64(b, v);
    send_frame(type, chan, b, 8);
}

/* Sends ERROR, which is terminal for chan: later frames for it are dropped (is_closed).  For a
 * live channel use fail_channel(), which also tears it down. */
static void send_error(uint32_t chan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_error(uint32_t chan, const char *fmt, ...)
{
    char msg[PATH_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    if (verbose)
        logmsg("channel %u: error: %s", chan, msg);
    send_frame(R_ERROR, chan, msg, (size_t)n);
    if (chan != 0)
        remember_closed(chan);
}

/* ERROR is terminal for a channel, so a live channel is torn down with it. */
#define fail_channel(c, ...)                 \
    do {                                     \
        send_error((c)->id, __VA_ARGS__);    \
        close_channel((c), 1);               \
    } while (0)

/* Reads one chunk of fd straight into the output queue as one frame.  Returns read()'s result. */
static ssize_t read_into_frame(int fd, uint8_t type, uint32_t chan)
{
    unsigned char *p = buf_space(&g.out, HDR_LEN + MAX_PAYLOAD);
    ssize_t n = read(fd, p + HDR_LEN, MAX_PAYLOAD);
    if (n > 0) {
        put_be32(p, (uint32_t)(5 + n));
        p[4] = type;
        put_be32(p + 5, chan);
        g.out.len += HDR_LEN + (size_t)n;
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* The host connection                                                                         */

static void set_async(int on)
{
    /* On a virtio port, O_ASYNC makes the kernel send SIGIO when the host opens its side, so
     * the disconnected re-poll loop below reacts at once instead of at its next tick. */
    int fl = fcntl(g.port, F_GETFL);
    if (fl >= 0)
        fcntl(g.port, F_SETFL, on ? fl | O_ASYNC : fl & ~O_ASYNC);
}

/* The host side closed (or the connection broke): every channel of it goes away. */
static void host_gone(const char *why)
{
    if (verbose || g.nchans)
        logmsg("host disconnected (%s); discarding %zu channel(s)", why, g.nchans);
    discard_all_channels();
    g.in.off = g.in.len = 0;
    g.out.off = g.out.len = 0;
    g.synced = 0;
    g.connected = 0;
    if (g.unix_path) {
        xclose(&g.port);
    } else {
        g.disconnected_at = now_ms();
        set_async(1);
    }
}

/* Virtio port while disconnected: poll() reports POLLHUP (and POLLIN) until the host opens its
 * side, so the port cannot sit in the main poll set.  Bytes the old connection left unread are
 * not drained here (that could eat a new HELLO); the HELLO scan skips them instead. */
static void check_reconnected(void)
{
    struct pollfd p = {.fd = g.port, .events = POLLIN};
    if (poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
        if (verbose)
            logmsg("host connected");
        g.connected = 1;
        g.synced = 0;
        set_async(0);
    }
}

static void flush_out(void)
{
    while (g.out.len && g.connected && g.port >= 0) {
        ssize_t w = write(g.port, buf_head(&g.out), g.out.len);
        if (w > 0) {
            buf_consume(&g.out, (size_t)w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            /* EPIPE, ECONNRESET, ENODEV (port unplugged), EIO (tty --device hung up) */
            host_gone(w < 0 ? strerror(errno) : "write returned 0");
            return;
        }
    }
}

static void protocol_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void protocol_error(const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    logmsg("protocol error: %s; waiting for HELLO", why);
    discard_all_channels();
    /* Tell the host why it stopped getting answers; it must send a new HELLO. */
    send_error(0, "protocol error: %s", why);
    g.synced = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* EXEC                                                                                        */

struct strv {
    char **v;
    size_t n, cap;
};

static void strv_push(struct strv *s, char *str)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Sets KEY=VALUE, replacing an earlier entry with the same key (later sources win). */
static void env_set(struct strv *e, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, klen) == 0 && e->v[i][klen] == '=') {
            free(e->v[i]);
            e->v[i] = xstrdup(kv);
            return;
        }
    }
    strv_push(e, xstrdup(kv));
}

static void env_set2(struct strv *e, const char *k, const char *v)
{
    char *kv;
    if (asprintf(&kv, "%s=%s", k, v) < 0)
        abort();
    env_set(e, kv);
    free(kv);
}

static int valid_env_key(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* Every KEY=VALUE line of /etc/boxd/env, read at each exec so IDENTITY changes apply. */
static void env_add_file(struct strv *e, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] != '#' && eq && valid_env_key(line, (size_t)(eq - line)))
            env_set(e, line);
    }
    free(line);
    fclose(f);
}

/* The environment documented in agent-protocol.md, in its order of precedence. */
static int build_env(struct strv *e, const struct user *u, const struct map *m, const char *term,
                     const char **bad)
{
    env_set2(e, "HOME", u->home);
    env_set2(e, "USER", u->name);
    env_set2(e, "LOGNAME", u->name);
    env_set2(e, "SHELL", u->shell);
    env_set(e, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env_set(e, "LANG=C.UTF-8");
    env_add_file(e, "/etc/boxd/env");
    if (term)
        env_set2(e, "TERM", term);
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->k[i], "env") != 0)
            continue;
        const char *eq = strchr(m->v[i], '=');
        if (!eq || eq == m->v[i]) {
            *bad = m->v[i];
            return -1;
        }
        env_set(e, m->v[i]);
    }
    return 0;
}

/* Everything the child needs between fork() and execve(). */
struct exec_spec {
    const struct user *u;
    const char *cmd, *cwd, *slave;
    int cwd_is_home;          /* no cwd requested: like sshd, fall back to / without a home */
    char **envp;
    int tty, in_r, out_w, err_w, errp_w;
};

/* Child side: reports why setup failed through the error pipe, then exits. */
static void __attribute__((noreturn)) child_fail(int errp, const char *what, const char *path, int e)
{
    char msg[PATH_MAX + 256];
    int n = path ? snprintf(msg, sizeof msg, "%s: %s: %s", what, errstr(e), path)
                 : snprintf(msg, sizeof msg, "%s: %s", what, errstr(e));
    if (n > 0)
        (void)!write(errp, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    _exit(127);
}

/* Restores what the agent changed for itself, so it does not leak into user processes. */
static void child_reset_process(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setrlimit(RLIMIT_NOFILE, &g.nofile);
}

static int drop_privileges(const struct user *u)
{
    if (setgroups((size_t)u->ngroups, u->groups) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
        return -1;
    return 0;
}

static void __attribute__((noreturn)) child_exec(const struct exec_spec *s)
{
    child_reset_process();
    if (setsid() < 0)
        child_fail(s->errp_w, "setsid", NULL, errno);
    if (s->tty) {
        /* Opening the slave as session leader makes it our controlling terminal. */
        int fd = open(s->slave, O_RDWR);
        if (fd < 0)
            child_fail(s->errp_w, "open pty", s->slave, errno);
        if (ioctl(fd, TIOCSCTTY, 0) < 0)
            child_fail(s->errp_w, "TIOCSCTTY", s->slave, errno);
        /* Like sshd: the user owns their terminal (tools reopen ttyname()). */
        if (fchown(fd, s->u->uid, (gid_t)-1) < 0 || fchmod(fd, 0620) < 0)
            child_fail(s->errp_w, "chown pty", s->slave, errno);
        if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            child_fail(s->errp_w, "dup2", NULL, errno);
        if (fd > 2)
            close(fd);
    } else {
        if (dup2(s->in_r, 0) < 0 || dup2(s->out_w, 1) < 0 || dup2(s->err_w, 2) < 0)
            child_fail(s->errp_w, "dup2", NULL, errno);
    }
    if (drop_privileges(s->u) < 0)
        child_fail(s->errp_w, "cannot switch to user", s->u->name, errno);
    /* After dropping privileges, so that the user's permissions decide. */
    if (chdir(s->cwd) < 0 && !(s->cwd_is_home && chdir("/") == 0))
        child_fail(s->errp_w, "cwd", s->cwd, errno);
    char *argv[] = {"sh", "-c", (char *)s->cmd, NULL};
    execve("/bin/sh", argv, s->envp);
    child_fail(s->errp_w, "exec", "/bin/sh", errno);
}

static int parse_u16_param(const struct map *m, const char *key, uint16_t dflt, uint16_t *out)
{
    const char *v = map_get(m, key);
    uint64_t x;
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (parse_u64(v, 10, 65535, &x) < 0)
        return -1;
    *out = (uint16_t)x;
    return 0;
}

static int open_pty(uint16_t rows, uint16_t cols, char *slave, size_t slen)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -1;
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, slen) != 0 ||
        ioctl(m, TIOCSWINSZ, &ws) < 0 || set_nonblock(m) < 0) {
        int e = errno;
        close(m);
        errno = e;
        return -1;
    }
    return m;
}

static void handle_exec(uint32_t id, const unsigned char *p, size_t n)
{
    struct map m;
    struct user u;
    struct strv env = {0};
    const char *bad = NULL, *term = NULL;
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, perrp[2] = {-1, -1};
    int master = -1;
    char slave[128] = "";
    uint16_t rows, cols;
    uint64_t timeout = 0;

    if (map_parse(p, n, &m) < 0) {
        send_error(id, "malformed EXEC payload");
        return;
    }
    const char *cmd = map_get(&m, "cmd"), *uname = map_get(&m, "user");
    const char *tty_s = map_get(&m, "tty"), *to_s = map_get(&m, "timeout_ms");
    int tty = tty_s && strcmp(tty_s, "1") == 0;
    if (!uname)
        uname = "boxd";
    if (!cmd) {
        send_error(id, "missing cmd");
        goto out;
    }
    if (lookup_user(uname, &u) < 0) {
        if (errno == ENOENT)
            send_error(id, "no such user: %s", uname);
        else
            send_error(id, "cannot read /etc/passwd: %s", errstr(errno));
        goto out;
    }
    if (parse_u16_param(&m, "rows", 24, &rows) < 0 || parse_u16_param(&m, "cols", 80, &cols) < 0) {
        send_error(id, "invalid rows or cols");
        goto out;
    }
    if (to_s && parse_u64(to_s, 10, UINT32_MAX * 1000ull, &timeout) < 0) {
        send_error(id, "invalid timeout_ms: %s", to_s);
        goto out;
    }
    if (tty)
        term = map_get(&m, "term") ? map_get(&m, "term") : "xterm-256color";
    if (build_env(&env, &u, &m, term, &bad) < 0) {
        send_error(id, "invalid env entry (want KEY=VALUE): %s", bad);
        goto out;
    }
    const char *cwd = map_get(&m, "cwd") ? map_get(&m, "cwd") : u.home;

    if (pipe2(perrp, O_CLOEXEC) < 0)
        goto sys_fail;
    if (tty) {
        if ((master = open_pty(rows, cols, slave, sizeof slave)) < 0)
            goto sys_fail;
    } else if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
               pipe2(perr, O_CLOEXEC) < 0 || set_nonblock(pin[1]) < 0 ||
               set_nonblock(pout[0]) < 0 || set_nonblock(perr[0]) < 0) {
        goto sys_fail;
    }

    struct exec_spec spec = {.u = &u, .cmd = cmd, .cwd = cwd, .cwd_is_home = !map_get(&m, "cwd"),
                             .slave = slave, .envp = env.v,
                             .tty = tty, .in_r = pin[0], .out_w = pout[1], .err_w = perr[1],
                             .errp_w = perrp[1]};
    pid_t pid = fork();
    if (pid < 0)
        goto sys_fail;
    if (pid == 0)
        child_exec(&spec);

    struct channel *c = new_channel(id, K_EXEC);
    c->pid = pid;
    c->tty = tty;
    c->errp = perrp[0];
    c->in_fd = pin[1];
    c->out_fd = pout[0];
    c->err_fd = perr[0];
    c->master = master;
    if (timeout)
        c->deadline = now_ms() + timeout;
    if (tty) {
        struct termios t;
        c->veof = tcgetattr(master, &t) == 0 && t.c_cc[VEOF] ? t.c_cc[VEOF] : 4;
    }
    close(perrp[1]);
    xclose(&pin[0]);
    xclose(&pout[1]);
    xclose(&perr[1]);
    if (verbose)
        logmsg("channel %u: exec pid %d%s: %s", id, (int)pid, tty ? " (tty)" : "", cmd);
    goto out;

sys_fail:
    send_error(id, "cannot start process: %s", errstr(errno));
    for (int i = 0; i < 2; i++) {
        xclose(&pin[i]);
        xclose(&pout[i]);
        xclose(&perr[i]);
        xclose(&perrp[i]);
    }
    xclose(&master);
out:
    strv_free(&env);
    map_free(&m);
}

static int exec_output_open(const struct channel *c)
{
    return c->tty ? c->master >= 0 : c->out_fd >= 0 || c->err_fd >= 0;
}

/* EXIT goes out only once the child is reaped and its output reached EOF, so every OUT/ERR
 * frame is already queued ahead of it. */
static void exec_maybe_finish(struct channel *c)
{
    if (c->dead || !c->started || !c->reaped || exec_output_open(c))
        return;
    int code = c->timed_out ? 124
             : WIFEXITED(c->status) ? WEXITSTATUS(c->status)
             : WIFSIGNALED(c->status) ? 128 + WTERMSIG(c->status) : 255;
    send_u32(R_EXIT, c->id, (uint32_t)code);
    if (verbose)
        logmsg("channel %u: exit %d", c->id, code);
    close_channel(c, 0);
}

/* The child will never read more stdin: ACK and drop what is queued (and what comes later),
 * so the host's credit does not get stuck. */
static void exec_stdin_gone(struct channel *c)
{
    if (c->inq.len)
        send_u32(R_ACK, c->id, (uint32_t)c->inq.len);
    buf_free(&c->inq);
    c->in_closed = 1;
    c->veof_left = 0;
    xclose(&c->in_fd);
}

static void exec_write_stdin(struct channel *c)
{
    int fd = c->tty ? c->master : c->in_fd;
    size_t acked = 0;
    if (fd < 0 || c->in_closed)
        return;
    while (c->inq.len) {
        ssize_t w = write(fd, buf_head(&c->inq), c->inq.len);
        if (w > 0) {
            unsigned char last = buf_head(&c->inq)[w - 1];
            c->at_line_start = last == '\n' || last == '\r';
            buf_consume(&c->inq, (size_t)w);
            acked += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            if (acked)
                send_u32(R_ACK, c->id, (uint32_t)acked);
            exec_stdin_gone(c);  /* EPIPE: reader gone; EIO: pty slave closed */
            return;
        }
    }
    if (acked)
        send_u32(R_ACK, c->id, (uint32_t)acked);
    if (c->inq.len || !c->in_eof)
        return;
    if (!c->tty) {
        c->in_closed = 1;
        xclose(&c->in_fd);
        return;
    }
    /* A tty has no "close": VEOF ends input, but only at the start of a line; in the middle
     * of one it merely flushes the line, so a second VEOF is needed. */
    while (c->veof_left) {
        ssize_t w = write(fd, &c->veof, 1);
        if (w == 1)
            c->veof_left--;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            break;
    }
    c->in_closed = 1;
}

static void exec_data(struct channel *c, const unsigned char *p, size_t n)
{
    if (c->in_closed || c->in_eof) {
        if (n)
            send_u32(R_ACK, c->id, (uint32_t)n);
        return;
    }
    if (n == 0) {
        c->in_eof = 1;
        if (c->tty)
            c->veof_left = c->at_line_start ? 1 : 2;
    } else if (c->inq.len + n > MAX_STDIN_QUEUE) {
        fail_channel(c, "stdin overflow: more than %u bytes unacknowledged", MAX_STDIN_QUEUE);
        return;
    } else {
        buf_append(&c->inq, p, n);
    }
    exec_write_stdin(c);
}

/* The child exec'd (EOF on the error pipe) or reported why it could not. */
static void exec_errpipe_ready(struct channel *c)
{
    char msg[PATH_MAX + 256];
    ssize_t r = read(c->errp, msg, sizeof msg - 1);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    xclose(&c->errp);
    if (r > 0) {
        msg[r] = 0;
        fail_channel(c, "%s", msg);  /* the child exits by itself and is reaped as unknown */
        return;
    }
    c->started = 1;
    send_u32(R_STARTED, c->id, (uint32_t)c->pid);
    exec_maybe_finish(c);
}

static void exec_read_output(struct channel *c, int *fd, uint8_t type)
{
    ssize_t n = read_into_frame(*fd, type, c->id);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
        return;
    /* EOF; or EIO from a PTY master once every slave fd is closed.  For a tty *fd is also
     * stdin, so stdin is over too. */
    if (c->tty)
        exec_stdin_gone(c);
    xclose(fd);
    exec_maybe_finish(c);
}

static void exec_resize(struct channel *c, const unsigned char *p, size_t n)
{
    if (n != 4) {
        fail_channel(c, "malformed RESIZE payload");
        return;
    }
    struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]),
                         .ws_col = (unsigned short)(p[2] << 8 | p[3])};
    if (c->tty && c->master >= 0)
        ioctl(c->master, TIOCSWINSZ, &ws);   /* the kernel sends SIGWINCH */
}

static void exec_signal(struct channel *c, const unsigned char *p, size_t n)
{
    if (n != 1 || p[0] > 64) {
        fail_channel(c, "malformed SIGNAL payload");
        return;
    }
    if (p[0])
        kill_group(c, p[0]);
}

static void reap_children(void)
{
    int status;
    pid_t pid;
    g.reap_pending = 0;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < g.nchans; i++) {
            struct channel *c = g.chans[i];
            if (c->kind == K_EXEC && c->pid == pid && !c->reaped) {
                c->reaped = 1;
                c->status = status;
                exec_maybe_finish(c);
                break;
            }
        }
        /* Not found: a discarded channel's child or a detached helper; nothing to do. */
    }
}

/* timeout_ms and the grace period after it. */
static void exec_timers(uint64_t now)
{
    /* Backwards: finishing a channel moves the last one into its slot. */
    for (size_t i = g.nchans; i-- > 0;) {
        struct channel *c = g.chans[i];
        if (c->kind != K_EXEC)
            continue;
        if (c->deadline && !c->timed_out && now >= c->deadline) {
            if (verbose)
                logmsg("channel %u: timeout, killing process group %d", c->id, (int)c->pid);
            c->timed_out = 1;
            c->grace = now + TIMEOUT_GRACE_MS;
            kill_group(c, SIGKILL);
        }
        /* A process outside the group (it called setsid) may still hold the pipes open; the
         * host asked for an answer by the deadline, so do not wait for it forever. */
        if (c->timed_out && c->reaped && c->started && now >= c->grace && exec_output_open(c)) {
            xclose(&c->out_fd);
            xclose(&c->err_fd);
            exec_stdin_gone(c);
            xclose(&c->master);
            exec_maybe_finish(c);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* File access as a user                                                                       */

/* Switches filesystem identity (fsuid, fsgid, groups) to u.  Leaving fsuid 0 drops the
 * capabilities that bypass file permissions; returning to 0 restores them. */
static int fs_enter(const struct user *u)
{
    if (u->uid == 0)
        return 0;
    if (setgroups((size_t)u->ngroups, u->groups) < 0)
        return -1;
    setfsgid(u->gid);
    setfsuid(u->uid);
    if ((gid_t)setfsgid((gid_t)-1) != u->gid || (uid_t)setfsuid((uid_t)-1) != u->uid) {
        setfsuid(0);
        setfsgid(0);
        setgroups((size_t)g.root_ngroups, g.root_groups);
        errno = EPERM;
        return -1;
    }
    return 0;
}

static void fs_leave(const struct user *u)
{
    if (u->uid == 0)
        return;
    int e = errno;  /* callers read errno of the operation done as the user */
    setfsuid(0);
    setfsgid(0);
    setgroups((size_t)g.root_ngroups, g.root_groups);
    errno = e;
}

/* Relative paths are under the user's home. */
static int resolve_path(const struct user *u, const char *path, char *out, size_t len)
{
    int n = path[0] == '/' ? snprintf(out, len, "%s", path)
                           : snprintf(out, len, "%s/%s", strcmp(u->home, "/") ? u->home : "", path);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* mkdir -p of path's parent directories (as the current fs identity). */
static int mkdir_parents(char *path, char *failed, size_t flen)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        int r = mkdir(path, 0755);
        if (r < 0 && errno != EEXIST) {
            snprintf(failed, flen, "%s", path);
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* PUT                                                                                         */

static void handle_put(uint32_t id, const unsigned char *p, size_t n)
{
    static unsigned counter;
    struct map m;
    struct user u;
    char full[PATH_MAX], tmp[PATH_MAX + 64], failed[PATH_MAX];
    uint64_t mode = 0644;
    struct stat st;

    if (map_parse(p, n, &m) < 0) {
        send_error(id, "malformed PUT payload");
        return;
    }
    const char *path = map_get(&m, "path"), *uname = map_get(&m, "user");
    const char *mode_s = map_get(&m, "mode"), *mkdirs = map_get(&m, "mkdirs");
    if (!uname)
        uname = "boxd";
    if (!path || !*path) {
        send_error(id, "missing path");
        goto out;
    }
    if (mode_s && parse_u64(mode_s, 8, 07777, &mode) < 0) {
        send_error(id, "invalid mode: %s", mode_s);
        goto out;
    }
    if (lookup_user(uname, &u) < 0) {
        send_error(id, errno == ENOENT ? "no such user: %s" : "cannot read /etc/passwd: %s",
                   errno == ENOENT ? uname : errstr(errno));
        goto out;
    }
    if (resolve_path(&u, path, full, sizeof full) < 0) {
        send_error(id, "path too long: %s", path);
        goto out;
    }
    size_t flen = strlen(full);
    if (full[flen - 1] == '/') {
        send_error(id, "is a directory: %s", full);
        goto out;
    }
    char *slash = strrchr(full, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.boxd-put-%d-%u", (int)(slash - full), full, (int)getpid(),
             ++counter);

    if (fs_enter(&u) < 0) {
        send_error(id, "cannot switch to user %s: %s", u.name, errstr(errno));
        goto out;
    }
    int fd = -1, err = 0;
    const char *what = full;
    if (mkdirs && strcmp(mkdirs, "1") == 0 && mkdir_parents(full, failed, sizeof failed) < 0) {
        err = errno;
        what = failed;
    } else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
        err = EISDIR;  /* fail before the host streams the whole file */
    } else {
        for (int tries = 0; fd < 0 && tries < 100; tries++) {
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0 && errno != EEXIST)
                break;
            if (fd < 0)
                snprintf(tmp, sizeof tmp, "%.*s/.boxd-put-%d-%u", (int)(slash - full), full,
                         (int)getpid(), ++counter);
        }
        if (fd < 0)
            err = errno;
    }
    fs_leave(&u);
    if (err || fd < 0) {
        send_error(id, "%s: %s", errstr(err ? err : EEXIST), what);
        goto out;
    }

    struct channel *c = new_channel(id, K_PUT);
    c->fd = fd;
    c->path = xstrdup(full);
    c->tmp = xstrdup(tmp);
    c->mode = (mode_t)mode;
    c->user = memcpy(xrealloc(NULL, sizeof u), &u, sizeof u);
    if (verbose)
        logmsg("channel %u: put %s as %s", id, full, u.name);
out:
    map_free(&m);
}

/* Finishes a PUT: ownership and mode on the temp file, then rename it over the target. */
static void put_finish(struct channel *c)
{
    const struct user *u = c->user;
    if (fchown(c->fd, u->uid, u->gid) < 0 || fchmod(c->fd, c->mode) < 0) {
        fail_channel(c, "chmod: %s: %s", errstr(errno), c->path);
        return;
    }
    int r = close(c->fd);
    c->fd = -1;
    if (r < 0) {
        fail_channel(c, "write: %s: %s", errstr(errno), c->path);
        return;
    }
    /* The rename needs the user's rights on the directory, like the create did. */
    if (fs_enter(u) < 0) {
        fail_channel(c, "cannot switch to user %s: %s", u->name, errstr(errno));
        return;
    }
    r = rename(c->tmp, c->path);
    fs_leave(u);
    if (r < 0) {
        fail_channel(c, "%s: %s", errstr(errno), c->path);
        return;
    }
    free(c->tmp);
    c->tmp = NULL;   /* renamed: nothing to clean up */
    send_u64(R_DONE, c->id, c->bytes);
    close_channel(c, 0);
}

static void put_data(struct channel *c, const unsigned char *p, size_t n)
{
    if (n == 0) {
        put_finish(c);
        return;
    }
    if (write_all(c->fd, p, n) < 0) {
        fail_channel(c, "write: %s: %s", errstr(errno), c->path);
        return;
    }
    c->bytes += n;
    send_u32(R_ACK, c->id, (uint32_t)n);
}

/* ------------------------------------------------------------------------------------------ */
/* GET                                                                                         */

static void handle_get(uint32_t id, const unsigned char *p, size_t n)
{
    struct map m;
    struct user u;
    char full[PATH_MAX];
    struct stat st;

    if (map_parse(p, n, &m) < 0) {
        send_error(id, "malformed GET payload");
        return;
    }
    const char *path = map_get(&m, "path"), *uname = map_get(&m, "user");
    if (!uname)
        uname = "boxd";
    if (!path || !*path) {
        send_error(id, "missing path");
        goto out;
    }
    if (lookup_user(uname, &u) < 0) {
        send_error(id, errno == ENOENT ? "no such user: %s" : "cannot read /etc/passwd: %s",
                   errno == ENOENT ? uname : errstr(errno));
        goto out;
    }
    if (resolve_path(&u, path, full, sizeof full) < 0) {
        send_error(id, "path too long: %s", path);
        goto out;
    }
    if (fs_enter(&u) < 0) {
        send_error(id, "cannot switch to user %s: %s", u.name, errstr(errno));
        goto out;
    }
    /* O_NONBLOCK so a FIFO cannot hang us; it is rejected below anyway. */
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    fs_leave(&u);
    if (fd < 0) {
        send_error(id, "%s: %s", errstr(errno), full);
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        send_error(id, "%s: %s", errstr(errno), full);
        close(fd);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        send_error(id, S_ISDIR(st.st_mode) ? "is a directory: %s" : "not a regular file: %s", full);
        close(fd);
        goto out;
    }
    unsigned char meta[12];
    put_be32(meta, st.st_mode & 07777);
    put_be64(meta + 4, (uint64_t)st.st_size);
    send_frame(R_META, id, meta, sizeof meta);
    struct channel *c = new_channel(id, K_GET);
    c->fd = fd;
    c->path = xstrdup(full);
out:
    map_free(&m);
}

/* Sends the next chunk of a GET; called while the output queue has room. */
static void get_pump(struct channel *c)
{
    ssize_t r = read_into_frame(c->fd, R_OUT, c->id);
    if (r > 0) {
        c->bytes += (uint64_t)r;
    } else if (r == 0) {
        send_u64(R_DONE, c->id, c->bytes);
        close_channel(c, 0);
    } else if (errno != EINTR && errno != EAGAIN) {
        fail_channel(c, "read: %s: %s", errstr(errno), c->path);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* IDENTITY and TIME                                                                           */

static int set_clock_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    return clock_settime(CLOCK_REALTIME, &ts);
}

/* Reads a small text file; a missing file reads as "" (the caller creates it). */
static char *read_text_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? xstrdup("") : NULL;
    struct buf b = {0};
    for (;;) {
        unsigned char *p = buf_space(&b, 4096);
        ssize_t r = read(fd, p, 4096);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || b.len > (1u << 20)) {
            int e = r < 0 ? errno : EFBIG;
            close(fd);
            buf_free(&b);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
    }
    close(fd);
    *buf_space(&b, 1) = 0;
    return (char *)b.p;
}

/* Replaces path atomically (temp file + rename), owned by root with the given mode. */
static int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.boxd-tmp", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -1;
    int r = write_all(fd, data, len) < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, mode) < 0 ? -1 : 0;
    int e = errno;
    if (close(fd) < 0 && r == 0) {
        r = -1;
        e = errno;
    }
    if (r == 0 && rename(tmp, path) < 0) {
        r = -1;
        e = errno;
    }
    if (r < 0) {
        unlink(tmp);
        errno = e;
    }
    return r;
}

static int fail_msg(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_msg(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Starts argv without waiting for it: reap_children collects it (an unknown pid) when its
 * SIGCHLD arrives. */
static void spawn_detached(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        logmsg("fork for %s: %s", argv[0], strerror(errno));
    if (pid == 0) {
        child_reset_process();
        setsid();
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
}

static const char *find_exe(const char *const *candidates)
{
    for (; *candidates; candidates++)
        if (access(*candidates, X_OK) == 0)
            return *candidates;
    return NULL;
}

static int id_entropy(const char *hex, char *err, size_t n)
{
    size_t len = strlen(hex), bytes = len / 2;
    if (len == 0 || len % 2)
        return fail_msg(err, n, "entropy: invalid hex");
    struct rand_pool_info *info = xrealloc(NULL, sizeof *info + bytes + 4);
    unsigned char *b = (unsigned char *)info->buf;
    for (size_t i = 0; i < bytes; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(info);
            return fail_msg(err, n, "entropy: invalid hex");
        }
        b[i] = (unsigned char)v;
    }
    info->entropy_count = (int)(bytes * 8);
    info->buf_size = (int)bytes;
    int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
    int r = fd < 0 ? -1 : ioctl(fd, RNDADDENTROPY, info);
    int e = errno;
    free(info);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return fail_msg(err, n, "entropy: %s", errstr(e));
    }
    /* Make the new bytes count right away (Linux >= 4.17; older kernels lack the ioctl). */
    ioctl(fd, RNDRESEEDCRNG);
    close(fd);
    return 0;
}

/* /etc/hosts: one "127.0.1.1 <hostname>" line, in place of old ones or after 127.0.0.1. */
static int update_hosts(const char *host)
{
    char *old = read_text_file("/etc/hosts");
    if (!old)
        return -1;
    struct buf b = {0};
    char entry[128];
    int n = snprintf(entry, sizeof entry, "127.0.1.1\t%s\n", host), done = 0;
    for (char *line = old, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            next++;
        size_t ll = (size_t)(next - line);
        int is_ours = strncmp(line, "127.0.1.1", 9) == 0 && (line[9] == ' ' || line[9] == '\t');
        if (!is_ours)
            buf_append(&b, line, ll);
        if (ll && line[ll - 1] != '\n' && !is_ours)
            buf_append(&b, "\n", 1);
        if (!done && (is_ours || (strncmp(line, "127.0.0.1", 9) == 0 && isspace((unsigned char)line[9])))) {
            buf_append(&b, entry, (size_t)n);
            done = 1;
        }
    }
    if (!done)
        buf_append(&b, entry, (size_t)n);
    free(old);
    int r = write_file_atomic("/etc/hosts", (char *)buf_head(&b), b.len, 0644);
    buf_free(&b);
    return r;
}

static int id_hostname(const char *h, char *err, size_t n)
{
    char line[80];
    size_t len = strlen(h);
    if (len == 0 || len > 64 || strpbrk(h, " \t/"))
        return fail_msg(err, n, "hostname: invalid value: %s", h);
    if (sethostname(h, len) < 0)
        return fail_msg(err, n, "hostname: sethostname: %s", errstr(errno));
    snprintf(line, sizeof line, "%s\n", h);
    if (write_file_atomic("/etc/hostname", line, len + 1, 0644) < 0)
        return fail_msg(err, n, "hostname: %s: /etc/hostname", errstr(errno));
    if (update_hosts(h) < 0)
        return fail_msg(err, n, "hostname: %s: /etc/hosts", errstr(errno));
    return 0;
}

static int id_machine_id(const char *id, char *err, size_t n)
{
    char line[40];
    if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
        return fail_msg(err, n, "machine_id: invalid value (want 32 lower-case hex digits): %s", id);
    snprintf(line, sizeof line, "%s\n", id);
    if (write_file_atomic("/etc/machine-id", line, 33, 0444) < 0)
        return fail_msg(err, n, "machine_id: %s: /etc/machine-id", errstr(errno));
    return 0;
}

static int id_dns(const char *list, char *err, size_t n)
{
    struct buf b = {0};
    char *copy = xstrdup(list), *save = NULL;
    buf_append(&b, "# written by boxd-agent\n", 24);
    for (char *s = strtok_r(copy, ", \t;", &save); s; s = strtok_r(NULL, ", \t;", &save)) {
        buf_append(&b, "nameserver ", 11);
        buf_append(&b, s, strlen(s));
        buf_append(&b, "\n", 1);
    }
    free(copy);
    int r = write_file_atomic("/etc/resolv.conf", (char *)buf_head(&b), b.len, 0644);
    buf_free(&b);
    return r < 0 ? fail_msg(err, n, "dns: %s: /etc/resolv.conf", errstr(errno)) : 0;
}

/* The network part of IDENTITY talks rtnetlink directly: under TCG every process the guest
 * starts costs 40-100 ms, so running ip(8) five times made IDENTITY take ~0.5 s.  Each request
 * asks for an ACK and is answered synchronously by the kernel (within sendmsg), so one
 * blocking socket with a receive timeout is enough. */

struct nl {
    int fd;
    uint32_t seq;
    char ext[256];            /* the kernel's extended ACK message of the last failure, or "" */
};

/* Room for every request below: header + ifinfomsg/ifaddrmsg/rtmsg + a few small attributes. */
struct nl_req {
    struct nlmsghdr h;
    unsigned char body[256];
};

static unsigned char nl_rbuf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));

static int nl_open(struct nl *nl)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    struct timeval tv = {.tv_sec = NETLINK_TIMEOUT_MS / 1000, .tv_usec = NETLINK_TIMEOUT_MS % 1000 * 1000};
    int one = 1;
    nl->seq = (uint32_t)now_ms();
    nl->ext[0] = 0;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0)
        return -1;
    /* Extended ACKs say what was wrong ("Invalid prefix length"); short ACKs skip the echo of
     * our request.  Both are optional (Linux >= 4.12): older kernels ignore them. */
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        bind(nl->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        xclose(&nl->fd);
        errno = e;
        return -1;
    }
    return 0;
}

static void nl_init(struct nl_req *r, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
    memset(r, 0, sizeof *r);
    r->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hlen);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    memcpy(NLMSG_DATA(&r->h), hdr, hlen);
}

static void nl_attr(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(r->h.nlmsg_len);
    if (off + RTA_SPACE(len) > sizeof *r)
        abort();   /* a programming error: every request here is small and fixed */
    struct rtattr *a = (struct rtattr *)((char *)r + off);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static int nl_send(struct nl *nl, struct nl_req *r)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    r->h.nlmsg_seq = ++nl->seq;
    nl->ext[0] = 0;
    for (;;) {
        ssize_t w = sendto(nl->fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
        if (w == (ssize_t)r->h.nlmsg_len)
            return 0;
        if (w < 0 && errno == EINTR)
            continue;
        if (w >= 0)
            errno = EIO;
        return -1;
    }
}

/* The next datagram from the kernel; returns its length or -1 (timeout = ETIMEDOUT). */
static ssize_t nl_recv(struct nl *nl)
{
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = nl_rbuf, .iov_len = sizeof nl_rbuf};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(nl->fd, &mh, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            errno = ETIMEDOUT;
        if (n >= 0 && (mh.msg_flags & MSG_TRUNC)) {
            errno = EMSGSIZE;
            return -1;
        }
        if (n >= 0 && from.nl_pid != 0)
            continue;   /* not from the kernel */
        return n;
    }
}

/* An NLMSG_ERROR message: returns its error (0 = ACK) and keeps the extended ACK's text. */
static int nl_error(struct nl *nl, const struct nlmsghdr *h)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        return EIO;
    const struct nlmsgerr *e = NLMSG_DATA(h);
    if (e->error == 0)
        return 0;
    if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
        /* The TLVs follow the error and the echoed request (only its header with CAP_ACK). */
        size_t off = NLMSG_LENGTH(sizeof *e);
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
            off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
        const unsigned char *base = (const unsigned char *)h;
        while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
            const struct nlattr *a = (const struct nlattr *)(base + off);
            if (a->nla_len < sizeof *a || off + a->nla_len > h->nlmsg_len)
                break;
            if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
                size_t len = a->nla_len - sizeof *a;
                const char *msg = (const char *)(a + 1);
                len = strnlen(msg, len);
                snprintf(nl->ext, sizeof nl->ext, "%.*s", (int)len, msg);
                break;
            }
            off += NLA_ALIGN(a->nla_len);
        }
    }
    return e->error < 0 ? -e->error : EIO;
}

/* Sends a request with NLM_F_ACK and waits for its ACK.  Returns 0, or -1 with errno. */
static int nl_talk(struct nl *nl, struct nl_req *r)
{
    r->h.nlmsg_flags |= NLM_F_ACK;
    if (nl_send(nl, r) < 0)
        return -1;
    for (;;) {
        ssize_t got = nl_recv(nl);
        if (got < 0)
            return -1;
        int len = (int)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)nl_rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
                continue;   /* a late answer to an earlier request */
            int e = nl_error(nl, h);
            if (e == 0)
                return 0;
            errno = e;
            return -1;
        }
    }
}

/* Error text for a failed netlink step: errno text, then the kernel's explanation if any. */
static int nl_fail(const struct nl *nl, char *err, size_t n, const char *step, int e)
{
    return fail_msg(err, n, "network: %s: %s%s%s", step, errstr(e), nl->ext[0] ? ": " : "", nl->ext);
}

/* RTM_NEWLINK on an existing link: flags (mask change) and/or a new hardware address. */
static int nl_setlink(struct nl *nl, int ifindex, unsigned flags, unsigned change, const unsigned char *mac)
{
    struct nl_req r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = flags, .ifi_change = change};
    nl_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
    if (mac)
        nl_attr(&r, IFLA_ADDRESS, mac, 6);
    return nl_talk(nl, &r);
}

struct nl_addr {
    struct ifaddrmsg ifa;
    unsigned char local[16], address[16];
    unsigned short local_len, address_len;
};

/* Removes every address of the interface, of every family (as `ip addr flush dev IFACE`). */
static int nl_flush_addrs(struct nl *nl, int ifindex, char *err, size_t n, const char *iface)
{
    enum { CAP = 64 };
    static struct nl_addr found[CAP];
    char step[64];
    snprintf(step, sizeof step, "flush addresses of %s", iface);
    for (int round = 0; round < 16; round++) {
        struct nl_req r;
        struct ifaddrmsg req = {.ifa_family = AF_UNSPEC, .ifa_index = (unsigned)ifindex};
        size_t nfound = 0;
        int done = 0, more = 0;
        nl_init(&r, RTM_GETADDR, NLM_F_DUMP, &req, sizeof req);
        if (nl_send(nl, &r) < 0)
            return nl_fail(nl, err, n, step, errno);
        while (!done) {
            ssize_t got = nl_recv(nl);
            if (got < 0)
                return nl_fail(nl, err, n, step, errno);
            int len = (int)got;
            for (struct nlmsghdr *h = (struct nlmsghdr *)nl_rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_seq != r.h.nlmsg_seq)
                    continue;
                if (h->nlmsg_type == NLMSG_DONE) {
                    done = 1;
                    break;
                }
                if (h->nlmsg_type == NLMSG_ERROR) {
                    int e = nl_error(nl, h);
                    return nl_fail(nl, err, n, step, e ? e : EIO);
                }
                if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
                    continue;
                const struct ifaddrmsg *ifa = NLMSG_DATA(h);
                if ((int)ifa->ifa_index != ifindex)
                    continue;   /* older kernels dump every interface's addresses */
                if (nfound == CAP) {
                    more = 1;   /* read the rest of the dump; another round deletes them */
                    continue;
                }
                struct nl_addr *a = &found[nfound];
                memset(a, 0, sizeof *a);
                a->ifa = *ifa;
                int alen = (int)IFA_PAYLOAD(h);
                for (struct rtattr *at = IFA_RTA(ifa); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
                    size_t pl = RTA_PAYLOAD(at);
                    if (pl > 16)
                        continue;
                    if (at->rta_type == IFA_LOCAL) {
                        memcpy(a->local, RTA_DATA(at), pl);
                        a->local_len = (unsigned short)pl;
                    } else if (at->rta_type == IFA_ADDRESS) {
                        memcpy(a->address, RTA_DATA(at), pl);
                        a->address_len = (unsigned short)pl;
                    }
                }
                if (a->local_len || a->address_len)
                    nfound++;
            }
        }
        for (size_t i = 0; i < nfound; i++) {
            struct nl_addr *a = &found[i];
            nl_init(&r, RTM_DELADDR, 0, &a->ifa, sizeof a->ifa);
            if (a->local_len)
                nl_attr(&r, IFA_LOCAL, a->local, a->local_len);
            if (a->address_len)
                nl_attr(&r, IFA_ADDRESS, a->address, a->address_len);
            /* Deleting a primary IPv4 address also deletes its secondaries: already gone. */
            if (nl_talk(nl, &r) < 0 && errno != EADDRNOTAVAIL && errno != ENOENT && errno != ENODEV)
                return nl_fail(nl, err, n, step, errno);
        }
        if (!more)
            return 0;
    }
    return fail_msg(err, n, "network: %s: addresses keep appearing", step);
}

/* "52:54:00:12:34:56" (or with '-'), exactly six hex pairs. */
static int parse_mac(const char *s, unsigned char mac[6])
{
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -1;
        char hex[3] = {s[0], s[1], 0};
        mac[i] = (unsigned char)strtoul(hex, NULL, 16);
        s += 2;
        if (i < 5 && *s != ':' && *s != '-')
            return -1;
        if (i < 5)
            s++;
    }
    return *s ? -1 : 0;
}

/* "10.0.0.5/24"; without "/len" a /32, as ip(8) takes it. */
static int parse_cidr(const char *s, struct in_addr *a, unsigned char *prefix)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    uint64_t p = 32;
    if (len == 0 || len >= sizeof addr)
        return -1;
    memcpy(addr, s, len);
    addr[len] = 0;
    if (inet_pton(AF_INET, addr, a) != 1)
        return -1;
    if (slash && parse_u64(slash + 1, 10, 32, &p) < 0)
        return -1;
    *prefix = (unsigned char)p;
    return 0;
}

/* The interface's MAC, addresses, link state and default route, in the order ip(8) was run
 * before: set the MAC, flush the addresses, add the address, link up, replace the default
 * route.  Every value is checked before anything changes. */
static int id_network(const struct map *m, char *err, size_t n)
{
    const char *iface = map_get(m, "iface") ? map_get(m, "iface") : "eth0";
    const char *mac_s = map_get(m, "mac"), *ip_s = map_get(m, "ip"), *gw_s = map_get(m, "gateway");
    unsigned char mac[6], prefix = 0;
    struct in_addr ip, gw;
    char step[128];
    if (!*iface || strlen(iface) >= IFNAMSIZ || strchr(iface, '/'))
        return fail_msg(err, n, "network: invalid iface: %s", iface);
    if (mac_s && parse_mac(mac_s, mac) < 0)
        return fail_msg(err, n, "network: invalid mac: %s", mac_s);
    if (ip_s && parse_cidr(ip_s, &ip, &prefix) < 0)
        return fail_msg(err, n, "network: invalid ip (want IPv4/prefix): %s", ip_s);
    if (gw_s && inet_pton(AF_INET, gw_s, &gw) != 1)
        return fail_msg(err, n, "network: invalid gateway: %s", gw_s);

    struct nl nl;
    if (nl_open(&nl) < 0)
        return fail_msg(err, n, "network: netlink socket: %s", errstr(errno));
    int r = 0;
    /* SIOCGIFINDEX works on any socket, the netlink one included. */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, iface, strlen(iface));
    if (ioctl(nl.fd, SIOCGIFINDEX, &ifr) < 0) {
        r = fail_msg(err, n, "network: interface %s: %s", iface, errstr(errno));
        goto out;
    }
    int idx = ifr.ifr_ifindex;

    if (mac_s) {
        snprintf(step, sizeof step, "set %s address %s", iface, mac_s);
        /* virtio_net (and veth) change the MAC of a running link (IFF_LIVE_ADDR_CHANGE); a
         * driver that cannot says EBUSY, and gets it while down (the link goes up below). */
        if (nl_setlink(&nl, idx, 0, 0, mac) < 0) {
            if (errno != EBUSY) {
                r = nl_fail(&nl, err, n, step, errno);
                goto out;
            }
            if (nl_setlink(&nl, idx, 0, IFF_UP, NULL) < 0 || nl_setlink(&nl, idx, 0, 0, mac) < 0) {
                r = nl_fail(&nl, err, n, step, errno);
                goto out;
            }
        }
    }
    if (ip_s) {
        if ((r = nl_flush_addrs(&nl, idx, err, n, iface)) < 0)
            goto out;
        struct nl_req q;
        struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = prefix,
                                .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)idx};
        nl_init(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
        nl_attr(&q, IFA_LOCAL, &ip, 4);
        nl_attr(&q, IFA_ADDRESS, &ip, 4);
        if (nl_talk(&nl, &q) < 0) {
            snprintf(step, sizeof step, "add address %s to %s", ip_s, iface);
            r = nl_fail(&nl, err, n, step, errno);
            goto out;
        }
    }
    if (nl_setlink(&nl, idx, IFF_UP, IFF_UP, NULL) < 0) {
        snprintf(step, sizeof step, "set %s up", iface);
        r = nl_fail(&nl, err, n, step, errno);
        goto out;
    }
    if (gw_s) {
        struct nl_req q;
        struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                            .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
        uint32_t oif = (uint32_t)idx;
        nl_init(&q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rtm, sizeof rtm);
        nl_attr(&q, RTA_GATEWAY, &gw, 4);
        nl_attr(&q, RTA_OIF, &oif, 4);
        if (nl_talk(&nl, &q) < 0) {
            snprintf(step, sizeof step, "default route via %s dev %s", gw_s, iface);
            r = nl_fail(&nl, err, n, step, errno);
            goto out;
        }
    }
out:
    xclose(&nl.fd);
    return r;
}

/* /etc/boxd/env keeps unrelated lines and replaces ours. */
static int id_env(const struct map *m, char *err, size_t n)
{
    static const char *const keys[][2] = {
        {"vm_id", "BOXD_VM_ID"}, {"vm_name", "BOXD_VM_NAME"}, {"gateway", "BOXD_GATEWAY"}};
    if (mkdir("/etc/boxd", 0755) < 0 && errno != EEXIST)
        return fail_msg(err, n, "env: %s: /etc/boxd", errstr(errno));
    char *old = read_text_file("/etc/boxd/env");
    if (!old)
        return fail_msg(err, n, "env: %s: /etc/boxd/env", errstr(errno));
    struct buf b = {0};
    for (char *line = old, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            next++;
        int replaced = 0;
        for (size_t k = 0; k < 3; k++) {
            size_t kl = strlen(keys[k][1]);
            replaced |= map_get(m, keys[k][0]) && strncmp(line, keys[k][1], kl) == 0 && line[kl] == '=';
        }
        if (!replaced) {
            buf_append(&b, line, (size_t)(next - line));
            if (next > line && next[-1] != '\n')
                buf_append(&b, "\n", 1);
        }
    }
    for (size_t k = 0; k < 3; k++) {
        const char *v = map_get(m, keys[k][0]);
        if (!v)
            continue;
        buf_append(&b, keys[k][1], strlen(keys[k][1]));
        buf_append(&b, "=", 1);
        buf_append(&b, v, strlen(v));
        buf_append(&b, "\n", 1);
    }
    free(old);
    int r = write_file_atomic("/etc/boxd/env", (char *)buf_head(&b), b.len, 0644);
    buf_free(&b);
    return r < 0 ? fail_msg(err, n, "env: %s: /etc/boxd/env", errstr(errno)) : 0;
}

static int write_key_file(const char *path, const char *key, mode_t mode)
{
    size_t len = strlen(key);
    if (len && key[len - 1] == '\n')
        return write_file_atomic(path, key, len, mode);
    /* OpenSSH refuses key files without a final newline. */
    char *k = xrealloc(NULL, len + 2);
    memcpy(k, key, len);
    k[len] = '\n';
    int r = write_file_atomic(path, k, len + 1, mode);
    free(k);
    return r;
}

/* Is sshd up: its pid file names a live process called sshd?  sshd writes the pid file only
 * once its SIGHUP/SIGTERM handlers are set and its sockets listen. */
static int sshd_running(void)
{
    char *s = read_text_file(SSHD_PIDFILE), path[64];
    uint64_t pid;
    if (!s)
        return 0;
    s[strcspn(s, "\n")] = 0;
    int ok = parse_u64(s, 10, INT_MAX, &pid) == 0 && pid > 0;
    free(s);
    if (!ok)
        return 0;
    snprintf(path, sizeof path, "/proc/%llu/comm", (unsigned long long)pid);
    char *comm = read_text_file(path);
    ok = comm && strcmp(comm, "sshd\n") == 0;
    free(comm);
    return ok;
}

static int id_ssh(const char *priv, const char *pub, char *err, size_t n)
{
    if (mkdir("/etc/ssh", 0755) < 0 && errno != EEXIST)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh", errstr(errno));
    if (priv && write_key_file("/etc/ssh/ssh_host_ed25519_key", priv, 0600) < 0)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh/ssh_host_ed25519_key", errstr(errno));
    if (pub && write_key_file("/etc/ssh/ssh_host_ed25519_key.pub", pub, 0644) < 0)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh/ssh_host_ed25519_key.pub", errstr(errno));
    if (!priv)
        return 0;
    /* Every other host key (and a stale .pub/cert of the old ed25519 key) must go, or sshd
     * would keep presenting the template's keys, which every fork shares. */
    DIR *d = opendir("/etc/ssh");
    if (!d)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh", errstr(errno));
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        if (strncmp(nm, "ssh_host_", 9) != 0 || !strstr(nm + 9, "_key") ||
            strcmp(nm, "ssh_host_ed25519_key") == 0 ||
            (pub && strcmp(nm, "ssh_host_ed25519_key.pub") == 0))
            continue;
        if (unlinkat(dirfd(d), nm, 0) < 0 && errno != ENOENT) {
            int e2 = errno;
            closedir(d);
            return fail_msg(err, n, "ssh host key: %s: /etc/ssh/%s", errstr(e2), nm);
        }
    }
    closedir(d);
    /* sshd loads its host keys anew for every connection (each connection re-executes sshd;
     * OpenSSH 9.2 here), so a running or starting sshd serves the new key without a restart:
     * measured, a restart cost a VM ~0.3 s of guest CPU right when its first command runs.
     * sshd is only started when it is not running (after the reply: see run()); "start" does
     * nothing to an sshd that the path unit or boot is starting at this moment. */
    if (!sshd_running())
        g.start_sshd = 1;
    return 0;
}

/* systemctl is a process, and a process start costs the guest 40-100 ms under TCG, so it is
 * started after IDENTITY's reply and never waited for. */
static void start_sshd(void)
{
    static const char *const systemctls[] = {"/usr/bin/systemctl", "/bin/systemctl", NULL};
    const char *sc = find_exe(systemctls);
    if (sc) {
        char *const argv[] = {(char *)sc, "--no-block", "start", "ssh.service", NULL};
        spawn_detached(argv);
    }
}

/* The platform's key for direct SSH into the VM (the gateway logs in as boxd with it), written
 * whole each time to a root-owned file that the image's sshd reads besides the user's own
 * ~/.ssh/authorized_keys (sshd_config.d/boxd.conf).  Keys the user adds are theirs: writing the
 * platform key into ~/.ssh/authorized_keys replaced them at every restore, fork and boot. */
#define PLATFORM_KEYS_DIR "/etc/boxd/authorized_keys"
static int id_authorized_keys(const char *keys, char *err, size_t n)
{
    if ((mkdir("/etc/boxd", 0755) < 0 && errno != EEXIST) ||
        (mkdir(PLATFORM_KEYS_DIR, 0755) < 0 && errno != EEXIST))
        return fail_msg(err, n, "authorized_keys: %s: %s", PLATFORM_KEYS_DIR, errstr(errno));
    if (write_key_file(PLATFORM_KEYS_DIR "/boxd", keys, 0644) < 0)
        return fail_msg(err, n, "authorized_keys: %s/boxd: %s", PLATFORM_KEYS_DIR, errstr(errno));
    return 0;
}

static void handle_identity(uint32_t id, const unsigned char *p, size_t n)
{
    struct map m;
    char err[1024];
    int r = 0;
    if (map_parse(p, n, &m) < 0) {
        send_error(id, "malformed IDENTITY payload");
        return;
    }
    for (size_t i = 0; i < m.n; i++) {
        if (strncmp(m.k[i], "host_key_", 9) != 0 && strchr(m.v[i], '\n')) {
            send_error(id, "%s: invalid value (contains a newline)", m.k[i]);
            goto out;
        }
    }
    const char *v;
    uint64_t ns;
    /* Clock first, so every file below gets a sane mtime. */
    if ((v = map_get(&m, "time_ns"))) {
        if (parse_u64(v, 10, UINT64_MAX, &ns) < 0)
            r = fail_msg(err, sizeof err, "time_ns: invalid value: %s", v);
        else if (set_clock_ns(ns) < 0)
            r = fail_msg(err, sizeof err, "time_ns: clock_settime: %s", errstr(errno));
    }
    if (r == 0 && (v = map_get(&m, "entropy")))
        r = id_entropy(v, err, sizeof err);
    if (r == 0 && (v = map_get(&m, "hostname")))
        r = id_hostname(v, err, sizeof err);
    if (r == 0 && (v = map_get(&m, "machine_id")))
        r = id_machine_id(v, err, sizeof err);
    if (r == 0 && (v = map_get(&m, "dns")))
        r = id_dns(v, err, sizeof err);
    if (r == 0 && (map_get(&m, "mac") || map_get(&m, "ip") || map_get(&m, "gateway")))
        r = id_network(&m, err, sizeof err);
    if (r == 0 && (map_get(&m, "vm_id") || map_get(&m, "vm_name") || map_get(&m, "gateway")))
        r = id_env(&m, err, sizeof err);
    if (r == 0 && (map_get(&m, "host_key_ed25519") || map_get(&m, "host_key_ed25519_pub")))
        r = id_ssh(map_get(&m, "host_key_ed25519"), map_get(&m, "host_key_ed25519_pub"), err,
                   sizeof err);
    if (r == 0 && (v = map_get(&m, "authorized_keys")))
        r = id_authorized_keys(v, err, sizeof err);
    if (r < 0) {
        send_error(id, "%s", err);
    } else {
        send_u64(R_DONE, id, 0);
        remember_closed(id);
    }
out:
    map_free(&m);
}

static void handle_time(uint32_t id, const unsigned char *p, size_t n)
{
    if (n != 8)
        send_error(id, "malformed TIME payload");
    else if (set_clock_ns(get_be64(p)) < 0)
        send_error(id, "time: clock_settime: %s", errstr(errno));
    else {
        send_u64(R_DONE, id, 0);
        remember_closed(id);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Frame dispatch                                                                              */

/* Is the input right after this HELLO another complete HELLO?  A host that resent HELLO while
 * we were not running yet has them queued back to back; answering only the last one saves it
 * from finding a stale BXSYNC in its frame stream after syncing on an earlier reply. */
static int hello_follows(const unsigned char *after)
{
    size_t left = (size_t)(buf_head(&g.in) + g.in.len - after);
    return left >= HDR_LEN + NONCE_LEN && memcmp(after, HELLO_HDR, HDR_LEN) == 0;
}

static void handle_hello(const unsigned char *nonce)
{
    if (verbose || g.nchans)
        logmsg("HELLO: new connection; discarding %zu channel(s)", g.nchans);
    discard_all_channels();
    g.nclosed = g.closed_pos = 0;   /* channel ids start over */
    if (hello_follows(nonce + NONCE_LEN))
        return;
    /* Unsent output belongs to the old connection; the host skips everything up to the
     * marker, even a half-written frame. */
    g.out.off = g.out.len = 0;
    buf_append(&g.out, SYNC_MAGIC, strlen(SYNC_MAGIC));
    buf_append(&g.out, nonce, NONCE_LEN);
    send_frame2(R_HELLO, 0, nonce, NONCE_LEN, AGENT_VERSION, strlen(AGENT_VERSION));
}

static void handle_frame(uint8_t type, uint32_t chan, const unsigned char *p, size_t n)
{
    static const char *const names[] = {"", "HELLO", "EXEC", "DATA", "RESIZE", "SIGNAL", "PUT",
                                        "GET", "IDENTITY", "TIME"};
    if (type == T_HELLO) {
        if (chan != 0 || n != NONCE_LEN)
            protocol_error("HELLO with channel %u and %zu payload bytes", chan, n);
        else
            handle_hello(p);
        return;
    }
    struct channel *c = find_channel(chan);
    /* IDENTITY and TIME keep no state, so channel 0 is accepted for them too. */
    if (chan == 0 && type != T_IDENTITY && type != T_TIME) {
        protocol_error("%s frame on channel 0", names[type]);
        return;
    }
    switch (type) {
    case T_EXEC:
    case T_PUT:
    case T_GET:
    case T_IDENTITY:
    case T_TIME:
        if (c) {
            fail_channel(c, "channel %u already in use", chan);
            return;
        }
        if (type == T_EXEC)
            handle_exec(chan, p, n);
        else if (type == T_PUT)
            handle_put(chan, p, n);
        else if (type == T_GET)
            handle_get(chan, p, n);
        else if (type == T_IDENTITY)
            handle_identity(chan, p, n);
        else
            handle_time(chan, p, n);
        return;
    default: /* DATA, RESIZE, SIGNAL */
        if (!c) {
            if (!is_closed(chan))
                send_error(chan, "unknown channel %u", chan);
            return;
        }
        if (type == T_DATA && c->kind == K_EXEC)
            exec_data(c, p, n);
        else if (type == T_DATA && c->kind == K_PUT)
            put_data(c, p, n);
        else if (type == T_RESIZE && c->kind == K_EXEC)
            exec_resize(c, p, n);
        else if (type == T_SIGNAL && c->kind == K_EXEC)
            exec_signal(c, p, n);
        else if (type == T_SIGNAL)
            fail_channel(c, "%s aborted by the host", c->kind == K_PUT ? "upload" : "download");
        else
            fail_channel(c, "%s is not valid on this channel", names[type]);
        return;
    }
}

/* Skips to the next HELLO header; everything before it is from an earlier connection. */
static int sync_scan(void)
{
    unsigned char *p = buf_head(&g.in);
    unsigned char *m = memmem(p, g.in.len, HELLO_HDR, HDR_LEN);
    if (!m) {
        /* Keep a possible partial header at the end. */
        if (g.in.len > HDR_LEN - 1)
            buf_consume(&g.in, g.in.len - (HDR_LEN - 1));
        return 0;
    }
    buf_consume(&g.in, (size_t)(m - p));
    g.synced = 1;
    g.skip = 0;
    return 1;
}

/* A frame that is well delimited but cannot be served (too large, or of a type we do not
 * know) fails only its own channel: the others of the connection go on. */
static void refuse_frame(uint32_t chan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse_frame(uint32_t chan, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    struct channel *c = find_channel(chan);
    if (c)
        fail_channel(c, "%s", why);
    else if (!is_closed(chan))
        send_error(chan, "%s", why);
}

/* Parses and handles every complete frame in g.in.  Handlers never touch g.in (nor call
 * host_gone), so the payload pointer stays valid until the frame is consumed. */
static void process_input(void)
{
    while (g.connected) {
        if (!g.synced && !sync_scan())
            return;
        if (g.skip) {
            size_t n = g.in.len < g.skip ? g.in.len : g.skip;
            buf_consume(&g.in, n);
            g.skip -= (uint32_t)n;
            if (g.skip)
                return;
        }
        unsigned char *h = buf_head(&g.in);
        if (g.in.len < 4)
            return;
        uint32_t len = get_be32(h);
        if (len < 5 || len > 5 + MAX_SKIPPED_FRAME) {
            protocol_error("bad frame length %u", len);
            continue;
        }
        if (g.in.len < HDR_LEN)
            return;
        uint8_t type = h[4];
        uint32_t chan = get_be32(h + 5);
        int known = type >= T_HELLO && type <= T_TIME;
        /* Channel 0 is the connection and HELLO resynchronises it: no other frame can answer
         * for a bad one there, so the connection starts over. */
        if (chan == 0 || type == T_HELLO) {
            if (!known) {
                protocol_error("unknown frame type 0x%02x", type);
                continue;
            }
            if (len > 5 + MAX_PAYLOAD) {
                protocol_error("bad frame length %u", len);
                continue;
            }
        } else if (len > 5 + MAX_PAYLOAD || !known) {
            if (!known)
                refuse_frame(chan, "unknown frame type 0x%02x", type);
            else
                refuse_frame(chan, "request of %u bytes exceeds the agent's limit of %u bytes per frame",
                             len - 5, MAX_PAYLOAD);
            g.skip = 4 + len;
            continue;
        }
        if (g.in.len < 4 + (size_t)len)
            return;
        handle_frame(type, chan, h + HDR_LEN, len - 5);
        buf_consume(&g.in, 4 + (size_t)len);
    }
}

static void port_read(void)
{
    unsigned char *p = buf_space(&g.in, 2 * (HDR_LEN + MAX_PAYLOAD));
    ssize_t r = read(g.port, p, g.in.cap - g.in.off - g.in.len);
    if (r > 0) {
        g.in.len += (size_t)r;
        process_input();
    } else if (r == 0) {
        host_gone("end of file");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        host_gone(strerror(errno));
    }
}

static void accept_client(void)
{
    int fd = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    /* One host at a time: a new client replaces the old one, like a host reconnecting. */
    if (g.port >= 0)
        host_gone("replaced by a new connection");
    g.port = fd;
    g.connected = 1;
    g.synced = 0;
    if (verbose)
        logmsg("host connected");
}

/* ------------------------------------------------------------------------------------------ */
/* The event loop                                                                              */

enum role { RO_SIG, RO_LISTEN, RO_PORT, RO_ERRP, RO_IN, RO_OUT, RO_ERR, RO_MASTER };

struct pollset {
    struct pollfd *fds;
    struct channel **ch;
    enum role *role;
    size_t n, cap;
};

static void ps_add(struct pollset *ps, int fd, short events, struct channel *c, enum role role)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        ps->fds = xrealloc(ps->fds, ps->cap * sizeof *ps->fds);
        ps->ch = xrealloc(ps->ch, ps->cap * sizeof *ps->ch);
        ps->role = xrealloc(ps->role, ps->cap * sizeof *ps->role);
    }
    ps->fds[ps->n] = (struct pollfd){.fd = fd, .events = events};
    ps->ch[ps->n] = c;
    ps->role[ps->n++] = role;
}

static int out_room(void)
{
    return g.connected && g.out.len < OUT_HIGH_WATER;
}

static void min_timeout(int64_t *t, int64_t v)
{
    if (v < 0)
        v = 0;
    if (*t < 0 || v < *t)
        *t = v;
}

/* Builds the poll set.  An fd is only listed when we would act on it: poll() reports
 * POLLHUP/POLLERR even for events = 0, and acting on nothing would spin the CPU. */
static int64_t build_pollset(struct pollset *ps, uint64_t now)
{
    int64_t timeout = -1;
    int room = out_room();
    ps->n = 0;
    ps_add(ps, g.sig_fd, POLLIN, NULL, RO_SIG);
    if (g.listen_fd >= 0)
        ps_add(ps, g.listen_fd, POLLIN, NULL, RO_LISTEN);
    if (g.connected)
        ps_add(ps, g.port, POLLIN | (g.out.len ? POLLOUT : 0), NULL, RO_PORT);
    else if (!g.unix_path)
        min_timeout(&timeout, now - g.disconnected_at < DISCONNECTED_FAST_FOR_MS
                                  ? DISCONNECTED_FAST_MS : DISCONNECTED_SLOW_MS);
    for (size_t i = 0; i < g.nchans; i++) {
        struct channel *c = g.chans[i];
        if (c->kind == K_GET && room)
            timeout = 0;   /* regular files are always readable: pump them below */
        if (c->kind != K_EXEC)
            continue;
        int want_in = !c->in_closed && (c->inq.len || c->veof_left);
        if (c->errp >= 0)
            ps_add(ps, c->errp, POLLIN, c, RO_ERRP);
        if (c->tty) {
            short ev = (short)((c->started && room ? POLLIN : 0) | (want_in ? POLLOUT : 0));
            if (c->master >= 0 && ev)
                ps_add(ps, c->master, ev, c, RO_MASTER);
        } else {
            if (want_in && c->in_fd >= 0)
                ps_add(ps, c->in_fd, POLLOUT, c, RO_IN);
            if (c->started && room && c->out_fd >= 0)
                ps_add(ps, c->out_fd, POLLIN, c, RO_OUT);
            if (c->started && room && c->err_fd >= 0)
                ps_add(ps, c->err_fd, POLLIN, c, RO_ERR);
        }
        if (c->deadline && !c->timed_out)
            min_timeout(&timeout, (int64_t)(c->deadline - now));
        if (c->timed_out && c->reaped && exec_output_open(c))
            min_timeout(&timeout, (int64_t)(c->grace - now));
    }
    return timeout;
}

static void drain_signals(void)
{
    struct signalfd_siginfo si;
    while (read(g.sig_fd, &si, sizeof si) == sizeof si)
        ;
    g.reap_pending = 1;
}

static void dispatch(struct pollset *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        short ev = ps->fds[i].revents;
        struct channel *c = ps->ch[i];
        if (!ev || (c && c->dead))
            continue;
        switch (ps->role[i]) {
        case RO_SIG:
            drain_signals();
            break;
        case RO_LISTEN:
            accept_client();
            break;
        case RO_PORT:
            if (ps->fds[i].fd != g.port || !g.connected)
                break;   /* replaced by accept_client() in this round */
            if (ev & (POLLHUP | POLLERR | POLLNVAL)) {
                /* The host closed its side; whatever it sent last is moot. */
                host_gone("hangup");
                break;
            }
            if (ev & POLLIN)
                port_read();
            if (ev & POLLOUT)
                flush_out();
            break;
        case RO_ERRP:
            exec_errpipe_ready(c);
            break;
        case RO_IN:
            exec_write_stdin(c);
            break;
        case RO_OUT:
            if (out_room())
                exec_read_output(c, &c->out_fd, R_OUT);
            break;
        case RO_ERR:
            if (out_room())
                exec_read_output(c, &c->err_fd, R_ERR);
            break;
        case RO_MASTER:
            if (ev & POLLOUT)
                exec_write_stdin(c);
            if (!c->dead && c->master >= 0 && c->started && out_room() &&
                (ev & (POLLIN | POLLHUP | POLLERR)))
                exec_read_output(c, &c->master, R_OUT);
            break;
        }
    }
}

static void run(void)
{
    struct pollset ps = {0};
    for (;;) {
        if (!g.unix_path && !g.connected)
            check_reconnected();
        flush_out();        /* most output leaves here, without waiting for POLLOUT */
        if (g.start_sshd) {
            g.start_sshd = 0;
            start_sshd();
        }
        free_graveyard();
        int64_t timeout = build_pollset(&ps, now_ms());
        if (poll(ps.fds, ps.n, (int)timeout) < 0) {
            if (errno != EINTR) {
                logmsg("poll: %s", strerror(errno));
                usleep(100000);
            }
            continue;
        }
        dispatch(&ps);
        if (g.reap_pending)
            reap_children();
        exec_timers(now_ms());
        /* GET: one chunk per file per round keeps concurrent downloads fair. */
        for (size_t i = g.nchans; i-- > 0;)
            if (g.chans[i]->kind == K_GET && out_room())
                get_pump(g.chans[i]);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Startup                                                                                     */

static int open_unix_listener(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    if (strlen(path) >= sizeof sa.sun_path) {
        logmsg("socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);   /* stale socket of an earlier run */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        logmsg("cannot listen on %s: %s", path, strerror(errno));
        return -1;
    }
    return fd;
}

/* The port may not be there yet, or still be held by a previous instance (EBUSY). */
static int open_device(const char *path)
{
    for (int logged = 0;; logged = 1) {
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
            fcntl(fd, F_SETOWN, getpid());   /* SIGIO target, see set_async() */
            return fd;
        }
        if (!logged)
            logmsg("cannot open %s: %s; retrying", path, strerror(errno));
        sleep(1);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: boxd-agent [--device PATH | --unix PATH] [--verbose]\n"
            "  --device PATH  serve the host over this virtio-serial port (default %s)\n"
            "  --unix PATH    instead listen on a Unix socket, one client at a time (testing)\n"
            "  --verbose      log every channel\n",
            DEFAULT_DEVICE);
}

int main(int argc, char **argv)
{
    g.device = DEFAULT_DEVICE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            g.device = argv[++i];
        } else if (strcmp(argv[i], "--unix") == 0 && i + 1 < argc) {
            g.unix_path = argv[++i];
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("boxd-agent %s\n", AGENT_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    /* Buffers of 128 KiB and more (stdin queues, bursts of output) are mmap'd and go back to
     * the kernel when freed; glibc's adaptive threshold would keep them on the heap for good. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    umask(022);
    if (chdir("/") < 0)
        return 1;
    /* fds 0-2 must exist, or a pipe could land there and be clobbered by dup2 in a child. */
    for (int fd; (fd = open("/dev/null", O_RDWR)) >= 0;) {
        if (fd > 2) {
            close(fd);
            break;
        }
    }
    signal(SIGPIPE, SIG_IGN);   /* EPIPE from a child's stdin is handled where it happens */

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGIO);
    sigprocmask(SIG_BLOCK, &set, NULL);
    g.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g.sig_fd < 0) {
        logmsg("signalfd: %s", strerror(errno));
        return 1;
    }

    /* 64+ concurrent EXECs need 4 fds each; children get the original limit back. */
    getrlimit(RLIMIT_NOFILE, &g.nofile);
    struct rlimit more = g.nofile;
    more.rlim_cur = more.rlim_max < 65536 ? more.rlim_max : 65536;
    if (more.rlim_cur > g.nofile.rlim_cur)
        setrlimit(RLIMIT_NOFILE, &more);

    g.root_ngroups = getgroups(MAX_GROUPS, g.root_groups);
    if (g.root_ngroups < 0)
        g.root_ngroups = 0;

    if (g.unix_path) {
        if ((g.listen_fd = open_unix_listener(g.unix_path)) < 0)
            return 1;
        logmsg("version %s listening on %s", AGENT_VERSION, g.unix_path);
    } else {
        g.port = open_device(g.device);
        g.connected = 0;
        g.disconnected_at = now_ms();
        set_async(1);
        logmsg("version %s serving %s", AGENT_VERSION, g.device);
    }
    run();
    return 0;
}
