/*
 * boxd: the command line inside every VM, a thin remote terminal to the boxd gateway of the VM's
 * worker (docs/gateway-protocol.md).  It sends its arguments, working directory and terminal,
 * then relays bytes until the gateway sends the exit code.  Every verb lives on the gateway, so
 * this program does not change when a verb is added.  The laptop CLI ships it too, to reach its
 * resident JVM over a Unix socket (BOXD_GATEWAY=unix:PATH) in a millisecond rather than start a JVM.
 *
 * Design, in short:
 *  - Static and small, no name resolution, no stdio on the hot path: it must start fast under TCG
 *    emulation.  BOXD_GATEWAY is therefore an IPv4 address, never a host name (static glibc
 *    cannot resolve names without the NSS libraries of the exact glibc it was linked against).
 *  - One poll() loop over the socket, stdin (only after N) and a self-pipe for SIGWINCH.  The
 *    socket is non-blocking and everything bound for the gateway goes through one buffer; stdin
 *    is read only when that buffer is empty.  So the client never blocks sending while the
 *    gateway is blocked sending to it (`boxd exec vm -- cat < big` would otherwise deadlock).
 *  - stdout and stderr are written with blocking writes: a slow local reader slows the gateway
 *    down through TCP flow control, which is the back-pressure we want.
 *  - The terminal is restored on every way out: exit code, error, and the signals that end us.
 *
 * One file of about 570 lines on purpose: a static client read top to bottom (arguments, terminal,
 * one relay loop) with no seam a second file would make clearer. If it grows, the terminal handling
 * and the relay loop are where it splits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define PROTOCOL "boxd-gateway/1"
#define DEFAULT_PORT 9002
#define CONNECT_TIMEOUT_MS 5000
#define HDR_LEN 5                       /* u8 type + u32 big-endian payload length */
#define MAX_PAYLOAD (1u << 20)
#define STDIN_CHUNK 65536               /* payload of one I frame at most */
#define EXIT_NO_CODE 255                /* the gateway gave no exit code */

static char gateway[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];  /* "A.B.C.D:PORT" or "unix:PATH", for messages */

/* Where the gateway listens: TCP in a VM, a Unix socket for the laptop CLI's resident process. */
union gateway_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_un un;
};

/* ------------------------------------------------------------------------------------------ */
/* Terminal                                                                                    */

static struct termios saved_termios;
static volatile sig_atomic_t raw_mode;  /* saved_termios is valid and stdin is raw */

static void restore_terminal(void)
{
    if (raw_mode) {
        tcsetattr(0, TCSADRAIN, &saved_termios);
        raw_mode = 0;
    }
}

static void make_raw(void)
{
    struct termios raw;
    if (raw_mode || !isatty(0) || tcgetattr(0, &saved_termios) < 0)
        return;
    raw = saved_termios;
    cfmakeraw(&raw);
    if (tcsetattr(0, TCSADRAIN, &raw) == 0)
        raw_mode = 1;
}

static void winsize(uint16_t *cols, uint16_t *rows)
{
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) < 0)
        ws.ws_col = ws.ws_row = 0;
    *cols = ws.ws_col;
    *rows = ws.ws_row;
}

/* ------------------------------------------------------------------------------------------ */
/* Errors: one line on stderr, terminal restored, exit 255                                     */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    restore_terminal();                 /* first, so the line starts at the left margin */
    if (write(2, "boxd: ", 6) == 6 && write(2, line, (size_t)n) < 0) {
        /* nobody to tell */
    }
    exit(EXIT_NO_CODE);
}

static void unreachable(int err)
{
    fail("cannot reach the boxd gateway at %s: %s", gateway, strerror(err));
}

/* ------------------------------------------------------------------------------------------ */
/* Signals                                                                                     */

static int winch_pipe[2] = {-1, -1};

static void on_winch(int sig)
{
    (void)sig;
    int saved = errno;
    if (write(winch_pipe[1], "w", 1) < 0) {
        /* the pipe is full: a resize is already pending */
    }
    errno = saved;
}

/* SA_RESETHAND: the raise() is delivered with the default action once we return, so the parent
 * sees death by the signal (a shell loop stops on Ctrl-C), and the terminal is not left raw.
 * TCSANOW: TCSADRAIN could wait forever on a stopped terminal (Ctrl-S). */
static void on_fatal(int sig)
{
    if (raw_mode)
        tcsetattr(0, TCSANOW, &saved_termios);
    raise(sig);
}

static void setup_signals(int terminal)
{
    static const int fatal[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);      /* EPIPE is handled where it happens */

    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction old;
        /* keep a signal ignored if we were started with it ignored (nohup, `cmd &`) */
        if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(fatal[i], &sa, NULL);
    }

    if (terminal && pipe2(winch_pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
        sa.sa_handler = on_winch;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGWINCH, &sa, NULL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Finding and reaching the gateway                                                            */

/* The gateway of the default route with the lowest metric.  /proc/net/route prints addresses as
 * the hex of the raw network-order 32-bit value, so it goes into s_addr as it is. */
static int default_route(struct in_addr *gw)
{
    FILE *f = fopen("/proc/net/route", "re");
    char line[256];
    int found = 0;
    unsigned best_metric = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char iface[64];
        unsigned dest, via, flags, metric, mask;
        if (sscanf(line, "%63s %x %x %x %*d %*d %u %x", iface, &dest, &via, &flags, &metric, &mask) != 6)
            continue;                   /* the header line */
        /* RTF_UP 0x1, RTF_GATEWAY 0x2 */
        if (dest != 0 || mask != 0 || (flags & 3) != 3)
            continue;
        if (!found || metric < best_metric) {
            gw->s_addr = via;
            best_metric = metric;
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (unsigned long)(*s - '0')) > 65535)
            return 0;
    }
    *port = (uint16_t)v;
    return v > 0;
}

static void gateway_address(union gateway_addr *ga, socklen_t *len)
{
    const char *env = getenv("BOXD_GATEWAY");
    uint16_t port = DEFAULT_PORT;
    struct sockaddr_in *sa = &ga->in;
    memset(ga, 0, sizeof *ga);
    if (env && strncmp(env, "unix:", 5) == 0) {
        const char *path = env + 5;
        if (!*path || strlen(path) >= sizeof ga->un.sun_path)
            fail("BOXD_GATEWAY=%s: expected unix:PATH with a path of 1-%zu bytes", env, sizeof ga->un.sun_path - 1);
        ga->un.sun_family = AF_UNIX;
        memcpy(ga->un.sun_path, path, strlen(path));
        *len = sizeof ga->un;
        snprintf(gateway, sizeof gateway, "%s", env);
        return;
    }
    sa->sin_family = AF_INET;
    if (env && *env) {
        char host[INET_ADDRSTRLEN];
        const char *colon = strchr(env, ':');
        size_t n = colon ? (size_t)(colon - env) : strlen(env);
        if (n >= sizeof host || (colon && !parse_port(colon + 1, &port)))
            fail("BOXD_GATEWAY=%s: expected HOST or HOST:PORT (an IPv4 address, a port 1-65535) or unix:PATH", env);
        memcpy(host, env, n);
        host[n] = 0;
        if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
            fail("BOXD_GATEWAY=%s: expected HOST or HOST:PORT (an IPv4 address, a port 1-65535) or unix:PATH", env);
    } else if (!default_route(&sa->sin_addr)) {
        fail("cannot find the boxd gateway: no default route in /proc/net/route (set BOXD_GATEWAY=HOST[:PORT])");
    }
    sa->sin_port = htons(port);
    *len = sizeof *sa;
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, a, sizeof a);
    snprintf(gateway, sizeof gateway, "%s:%u", a, port);
}

/* The laptop launcher names itself in BOXD_GATEWAY_FALLBACK: when nobody listens on the socket, the
 * call runs there instead (with BOXD_CLI_DIRECT=start, which also starts a listener for the calls
 * after).  Nothing has been read or sent yet, so the call loses nothing. */
static void fall_back(char **argv, int err)
{
    const char *fallback = getenv("BOXD_GATEWAY_FALLBACK");
    if (!fallback || !*fallback)
        unreachable(err);
    char *program = strdup(fallback);
    if (!program)
        fail("out of memory");
    unsetenv("BOXD_GATEWAY");
    unsetenv("BOXD_GATEWAY_FALLBACK");
    setenv("BOXD_CLI_DIRECT", "start", 1);
    execv(program, argv);
    fail("cannot run %s: %s", program, strerror(errno));
}

/* A non-blocking connected socket, or exit 255 (after CONNECT_TIMEOUT_MS at most). */
static int connect_gateway(const union gateway_addr *ga, socklen_t len, char **argv)
{
    /* A local socket connects at once or not at all: it connects blocking, then turns non-blocking. */
    int local = ga->sa.sa_family == AF_UNIX;
    int fd = socket(ga->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | (local ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0)
        unreachable(errno);
    if (connect(fd, &ga->sa, len) < 0) {
        if (local)
            fall_back(argv, errno);     /* no listener (ENOENT, ECONNREFUSED) or no access */
        if (errno != EINPROGRESS)
            unreachable(errno);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n;
        while ((n = poll(&p, 1, CONNECT_TIMEOUT_MS)) < 0 && errno == EINTR)
            ;
        if (n == 0)
            unreachable(ETIMEDOUT);
        int err = 0;
        socklen_t len = sizeof err;
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            unreachable(errno);
        if (err)
            unreachable(err);
    }
    int one = 1;
    if (local)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    else
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* ------------------------------------------------------------------------------------------ */
/* Frames to the gateway: one buffer, sent from the poll loop                                  */

static unsigned char *out;
static size_t out_len, out_cap;

static void out_reserve(size_t n)
{
    if (out_len + n <= out_cap)
        return;
    size_t cap = out_cap ? out_cap : 4096;
    while (cap < out_len + n)
        cap *= 2;
    out = realloc(out, cap);
    if (!out)
        fail("out of memory");
    out_cap = cap;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static void put_bytes(const void *p, size_t n)
{
    out_reserve(n);
    memcpy(out + out_len, p, n);
    out_len += n;
}

/* Starts a frame; returns its offset for end_frame(). */
static size_t begin_frame(char type)
{
    size_t at = out_len;
    unsigned char hdr[HDR_LEN] = {(unsigned char)type};
    put_bytes(hdr, HDR_LEN);
    return at;
}

static void end_frame(size_t at)
{
    put_be32(out + at + 1, (uint32_t)(out_len - at - HDR_LEN));
}

static void put_string(const char *s)
{
    put_bytes(s, strlen(s) + 1);
}

static void put_hello(int argc, char **argv, int terminal)
{
    char cols[8] = "0", rows[8] = "0";
    const char *term = "";
    char *cwd = getcwd(NULL, 0);        /* NULL when the directory was removed: sent as "" */
    if (terminal) {
        uint16_t c, r;
        winsize(&c, &r);
        snprintf(cols, sizeof cols, "%u", c);
        snprintf(rows, sizeof rows, "%u", r);
        /* a non-empty TERM is how the gateway knows there is a terminal */
        const char *t = getenv("TERM");
        term = t && *t ? t : "dumb";
    }
    size_t at = begin_frame('H');
    put_string(PROTOCOL);
    put_string(cwd ? cwd : "");
    put_string(term);
    put_string(cols);
    put_string(rows);
    for (int i = 1; i < argc; i++)
        put_string(argv[i]);
    if (out_len - at - HDR_LEN > MAX_PAYLOAD)
        fail("the arguments are too long: %zu bytes with the working directory, the limit is 1 MiB",
             out_len - at - HDR_LEN);
    end_frame(at);
    free(cwd);
}

static void put_window(void)
{
    uint16_t cols, rows;
    unsigned char p[4];
    winsize(&cols, &rows);
    p[0] = (unsigned char)(cols >> 8); p[1] = (unsigned char)cols;
    p[2] = (unsigned char)(rows >> 8); p[3] = (unsigned char)rows;
    size_t at = begin_frame('W');
    put_bytes(p, sizeof p);
    end_frame(at);
}

/* Reads one chunk of stdin into an I frame; returns 0 at end of input (an empty I was queued). */
static int put_stdin(void)
{
    size_t at = begin_frame('I');
    out_reserve(STDIN_CHUNK);
    ssize_t n = read(0, out + out_len, STDIN_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        out_len = at;                   /* nothing this time */
        return 1;
    }
    /* A read error (EIO from a hung-up terminal, EBADF from a closed fd) ends input as EOF does. */
    if (n > 0)
        out_len += (size_t)n;
    end_frame(at);
    return n > 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Frames from the gateway                                                                     */

static unsigned char in[HDR_LEN + MAX_PAYLOAD];  /* one whole frame fits, so reads never stall */
static size_t in_len;
static int stream_dead[3];              /* stdout/stderr whose reader went away */
static int stdin_on;                    /* relaying stdin (after N, until end of input) */
static int stdin_started;

static void protocol_error(const char *what, unsigned type, uint32_t len)
{
    fail("protocol error from the boxd gateway at %s: %s (frame type 0x%02x, %u bytes)",
         gateway, what, type, len);
}

/* Writes all of p to fd. When stdout's reader went away (EPIPE, as in `boxd exec vm -- yes | head`)
 * the client dies of SIGPIPE like any program in a pipeline: the connection closes and the gateway
 * stops the verb (an exec's command is killed). Any other failure, or a gone stderr, drops the
 * rest of that stream only: the verb still runs to its end and its exit code. */
static void write_stream(int fd, const unsigned char *p, size_t n)
{
    while (n > 0 && !stream_dead[fd]) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            /* someone made our stdout non-blocking (it is shared with the shell): wait */
            struct pollfd q = {.fd = fd, .events = POLLOUT};
            poll(&q, 1, -1);
        } else {
            if (w < 0 && errno == EPIPE && fd == STDOUT_FILENO) {
                restore_terminal();
                signal(SIGPIPE, SIG_DFL);
                raise(SIGPIPE);
            }
            stream_dead[fd] = 1;
        }
    }
}

static void handle_frame(unsigned type, const unsigned char *p, uint32_t len)
{
    switch (type) {
    case 'O':
        write_stream(1, p, len);
        return;
    case 'E':
        write_stream(2, p, len);
        return;
    case 'N':
    case 'R':
    case 'C':
        if (len != 0)
            protocol_error("payload must be empty", type, len);
        if (type == 'N' && !stdin_started)
            stdin_started = stdin_on = 1;
        else if (type == 'R')
            make_raw();
        else if (type == 'C')
            restore_terminal();
        return;
    case 'X':
        if (len != 4)
            protocol_error("exit code must be 4 bytes", type, len);
        restore_terminal();
        exit((int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]));
    default:
        protocol_error("unknown frame type", type, len);
    }
}

/* Handles every complete frame in `in`; keeps a partial one for the next read. */
static void handle_input(void)
{
    size_t at = 0;
    while (in_len - at >= HDR_LEN) {
        unsigned char *h = in + at;
        uint32_t len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
        if (len > MAX_PAYLOAD)
            protocol_error("payload over 1 MiB", h[0], len);
        if (in_len - at < HDR_LEN + len)
            break;
        handle_frame(h[0], h + HDR_LEN, len);
        at += HDR_LEN + len;
    }
    memmove(in, in + at, in_len - at);
    in_len -= at;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    /* "a terminal" means both ends are one: `boxd list | less` or `boxd cp - x < f` is not */
    int terminal = isatty(0) && isatty(1);
    union gateway_addr ga;
    socklen_t ga_len;

    setup_signals(terminal);
    put_hello(argc, argv, terminal);    /* before connecting: an over-long hello fails early */
    gateway_address(&ga, &ga_len);
    int sock = connect_gateway(&ga, ga_len, argv);
    int send_failed = 0;

    for (;;) {
        struct pollfd p[3] = {
            {.fd = sock, .events = POLLIN | (out_len ? POLLOUT : 0)},
            {.fd = winch_pipe[0], .events = POLLIN},
            /* stdin only when everything before has gone: that bounds our buffer */
            {.fd = stdin_on && out_len == 0 ? 0 : -1, .events = POLLIN},
        };
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail("poll: %s", strerror(errno));
        }

        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sock, in + in_len, sizeof in - in_len);
            if (n == 0)
                fail("the boxd gateway at %s closed the connection", gateway);
            if (n < 0 && errno != EINTR && errno != EAGAIN)
                unreachable(errno);
            if (n > 0) {
                in_len += (size_t)n;
                handle_input();
            }
        }
        if (out_len && (p[0].revents & POLLOUT)) {
            ssize_t n = send(sock, out, out_len, MSG_NOSIGNAL);
            if (n > 0) {
                memmove(out, out + n, out_len - (size_t)n);
                out_len -= (size_t)n;
            } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
                /* The gateway may have sent X and closed while we were sending: stop sending
                 * and let the reading side find the X, the end or the error. */
                send_failed = 1;
            }
        }
        if (send_failed) {
            out_len = 0;
            stdin_on = 0;
        }
        if (p[1].revents & POLLIN) {
            char drain[64];
            while (read(winch_pipe[0], drain, sizeof drain) > 0)
                ;
            if (!send_failed)
                put_window();
        }
        if (p[2].revents && stdin_on && !put_stdin())
            stdin_on = 0;
    }
}
