/* Channels, sending frames (every frame bound for the host goes through g.out) and the host connection. */
#include "agent.h"

/* ------------------------------------------------------------------------------------------ */
/* Channels and global state                                                                   */




struct channel *find_channel(uint32_t id)
{
    for (size_t i = 0; i < g.nchans; i++)
        if (g.chans[i]->id == id)
            return g.chans[i];
    return NULL;
}

/* Frames for a channel that already ended (EXIT/DONE/ERROR sent) are dropped silently: the
 * host may have had DATA or SIGNAL in flight.  Frames for ids never seen get an ERROR. */
int is_closed(uint32_t id)
{
    for (size_t i = 0; i < g.nclosed; i++)
        if (g.closed[i] == id)
            return 1;
    return 0;
}

void remember_closed(uint32_t id)
{
    g.closed[g.closed_pos] = id;
    g.closed_pos = (g.closed_pos + 1) % CLOSED_RING;
    if (g.nclosed < CLOSED_RING)
        g.nclosed++;
}

struct channel *new_channel(uint32_t id, enum kind kind)
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
void kill_group(struct channel *c, int sig)
{
    if (c->pid <= 0)
        return;
    if (killpg(c->pid, sig) < 0 && errno == ESRCH && !c->reaped)
        kill(c->pid, sig);
}

/* Ends a channel.  abort=1: the connection dropped it (HELLO, host gone, ERROR), so kill its
 * processes and remove a half-written file.  The struct is freed at the end of the loop
 * iteration, since pollfd entries may still point at it. */
void close_channel(struct channel *c, int abort)
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

void free_graveyard(void)
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

void discard_all_channels(void)
{
    while (g.nchans)
        close_channel(g.chans[g.nchans - 1], 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Sending frames                                                                              */

void send_frame2(uint8_t type, uint32_t chan, const void *a, size_t alen, const void *b,
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

void send_frame(uint8_t type, uint32_t chan, const void *p, size_t n)
{
    send_frame2(type, chan, p, n, NULL, 0);
}

void send_u32(uint8_t type, uint32_t chan, uint32_t v)
{
    unsigned char b[4];
    put_be32(b, v);
    send_frame(type, chan, b, 4);
}

void send_u64(uint8_t type, uint32_t chan, uint64_t v)
{
    unsigned char b[8];
    put_be64(b, v);
    send_frame(type, chan, b, 8);
}

/* Sends ERROR, which is terminal for chan: later frames for it are dropped (is_closed).  For a
 * live channel use fail_channel(), which also tears it down.  err is the errno behind the
 * failure, 0 if none: it follows the message after a NUL, so the host decides on the number
 * and shows the text (a host that predates the field still finds the message first). */
void send_error(uint32_t chan, int err, const char *fmt, ...)
{
    char msg[PATH_MAX + 512];
    unsigned char tail[5] = {0};
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
    put_be32(tail + 1, (uint32_t)err);
    send_frame2(R_ERROR, chan, msg, (size_t)n, tail, sizeof tail);
    if (chan != 0)
        remember_closed(chan);
}


/* Reads one chunk of fd straight into the output queue as one frame.  Returns read()'s result. */
ssize_t read_into_frame(int fd, uint8_t type, uint32_t chan)
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

void set_async(int on)
{
    /* On a virtio port, O_ASYNC makes the kernel send SIGIO when the host opens its side, so
     * the disconnected re-poll loop below reacts at once instead of at its next tick. */
    int fl = fcntl(g.port, F_GETFL);
    if (fl >= 0)
        fcntl(g.port, F_SETFL, on ? fl | O_ASYNC : fl & ~O_ASYNC);
}

/* The host side closed (or the connection broke): every channel of it goes away. */
void host_gone(const char *why)
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
void check_reconnected(void)
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

void flush_out(void)
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

void protocol_error(const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    logmsg("protocol error: %s; waiting for HELLO", why);
    discard_all_channels();
    /* Tell the host why it stopped getting answers; it must send a new HELLO. */
    send_error(0, 0, "protocol error: %s", why);
    g.synced = 0;
}
