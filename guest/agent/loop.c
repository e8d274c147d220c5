/* Frame dispatch and the event loop: one thread, one poll(), every fd non-blocking. */
#include "agent.h"

/* The first 9 bytes of every HELLO frame: length 21, type 0x01, channel 0. */
static const unsigned char HELLO_HDR[HDR_LEN] = {0, 0, 0, 5 + NONCE_LEN, T_HELLO, 0, 0, 0, 0};

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
            fail_channel(c, 0, "channel %u already in use", chan);
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
                send_error(chan, 0, "unknown channel %u", chan);
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
            fail_channel(c, 0, "%s aborted by the host", c->kind == K_PUT ? "upload" : "download");
        else
            fail_channel(c, 0, "%s is not valid on this channel", names[type]);
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
        fail_channel(c, 0, "%s", why);
    else if (!is_closed(chan))
        send_error(chan, 0, "%s", why);
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

void run(void)
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
