/* EXEC: starting a command (with pipes or a PTY) as a user, its stdin, output, signals, timeout and exit. */
#include "agent.h"

struct exec_spec {
    const struct user *u;
    const char *cmd, *cwd, *slave;
    int cwd_is_home;          /* no cwd requested: like sshd, fall back to / without a home */
    char **envp;
    int tty, in_r, out_w, err_w, errp_w;
};

/* Child side: reports why setup failed through the error pipe (the errno as 4 bytes, then the
 * message), then exits. */
static void __attribute__((noreturn)) child_fail(int errp, const char *what, const char *path, int e)
{
    char msg[4 + PATH_MAX + 256];
    memcpy(msg, &e, 4);
    int n = path ? snprintf(msg + 4, sizeof msg - 4, "%s: %s: %s", what, errstr(e), path)
                 : snprintf(msg + 4, sizeof msg - 4, "%s: %s", what, errstr(e));
    if (n > 0)
        (void)!write(errp, msg, 4 + ((size_t)n < sizeof msg - 4 ? (size_t)n : sizeof msg - 5));
    _exit(127);
}

/* Restores what the agent changed for itself, so it does not leak into user processes. */
void child_reset_process(void)
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

void handle_exec(uint32_t id, const unsigned char *p, size_t n)
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
        send_error(id, 0, "malformed EXEC payload");
        return;
    }
    const char *cmd = map_get(&m, "cmd"), *uname = map_get(&m, "user");
    const char *tty_s = map_get(&m, "tty"), *to_s = map_get(&m, "timeout_ms");
    int tty = tty_s && strcmp(tty_s, "1") == 0;
    if (!uname)
        uname = "boxd";
    if (!cmd) {
        send_error(id, 0, "missing cmd");
        goto out;
    }
    if (lookup_user(uname, &u) < 0) {
        if (errno == ENOENT)
            send_error(id, 0, "no such user: %s", uname);
        else
            send_error(id, errno, "cannot read /etc/passwd: %s", errstr(errno));
        goto out;
    }
    if (parse_u16_param(&m, "rows", 24, &rows) < 0 || parse_u16_param(&m, "cols", 80, &cols) < 0) {
        send_error(id, 0, "invalid rows or cols");
        goto out;
    }
    if (to_s && parse_u64(to_s, 10, UINT32_MAX * 1000ull, &timeout) < 0) {
        send_error(id, 0, "invalid timeout_ms: %s", to_s);
        goto out;
    }
    if (tty)
        term = map_get(&m, "term") ? map_get(&m, "term") : "xterm-256color";
    if (build_env(&env, &u, &m, term, &bad) < 0) {
        send_error(id, 0, "invalid env entry (want KEY=VALUE): %s", bad);
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
    send_error(id, errno, "cannot start process: %s", errstr(errno));
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

int exec_output_open(const struct channel *c)
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

void exec_write_stdin(struct channel *c)
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

void exec_data(struct channel *c, const unsigned char *p, size_t n)
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
        fail_channel(c, 0, "stdin overflow: more than %u bytes unacknowledged", MAX_STDIN_QUEUE);
        return;
    } else {
        buf_append(&c->inq, p, n);
    }
    exec_write_stdin(c);
}

/* The child exec'd (EOF on the error pipe) or reported why it could not. */
void exec_errpipe_ready(struct channel *c)
{
    char msg[4 + PATH_MAX + 256];
    ssize_t r = read(c->errp, msg, sizeof msg - 1);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    xclose(&c->errp);
    if (r >= 4) {
        int e;
        memcpy(&e, msg, 4);
        msg[r] = 0;
        fail_channel(c, e, "%s", msg + 4);  /* the child exits by itself and is reaped as unknown */
        return;
    }
    c->started = 1;
    send_u32(R_STARTED, c->id, (uint32_t)c->pid);
    exec_maybe_finish(c);
}

void exec_read_output(struct channel *c, int *fd, uint8_t type)
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

void exec_resize(struct channel *c, const unsigned char *p, size_t n)
{
    if (n != 4) {
        fail_channel(c, 0, "malformed RESIZE payload");
        return;
    }
    struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]),
                         .ws_col = (unsigned short)(p[2] << 8 | p[3])};
    if (c->tty && c->master >= 0)
        ioctl(c->master, TIOCSWINSZ, &ws);   /* the kernel sends SIGWINCH */
}

void exec_signal(struct channel *c, const unsigned char *p, size_t n)
{
    if (n != 1 || p[0] > 64) {
        fail_channel(c, 0, "malformed SIGNAL payload");
        return;
    }
    if (p[0])
        kill_group(c, p[0]);
}

void reap_children(void)
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
void exec_timers(uint64_t now)
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
