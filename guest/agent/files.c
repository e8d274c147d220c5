/* PUT and GET: file transfer with the rights of the requested user. */
#include "agent.h"

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

void handle_put(uint32_t id, const unsigned char *p, size_t n)
{
    static unsigned counter;
    struct map m;
    struct user u;
    char full[PATH_MAX], tmp[PATH_MAX + 64], failed[PATH_MAX];
    uint64_t mode = 0644;
    struct stat st;

    if (map_parse(p, n, &m) < 0) {
        send_error(id, 0, "malformed PUT payload");
        return;
    }
    const char *path = map_get(&m, "path"), *uname = map_get(&m, "user");
    const char *mode_s = map_get(&m, "mode"), *mkdirs = map_get(&m, "mkdirs");
    if (!uname)
        uname = "boxd";
    if (!path || !*path) {
        send_error(id, 0, "missing path");
        goto out;
    }
    if (mode_s && parse_u64(mode_s, 8, 07777, &mode) < 0) {
        send_error(id, 0, "invalid mode: %s", mode_s);
        goto out;
    }
    if (lookup_user(uname, &u) < 0) {
        send_error(id, errno == ENOENT ? 0 : errno, errno == ENOENT ? "no such user: %s" : "cannot read /etc/passwd: %s",
                   errno == ENOENT ? uname : errstr(errno));
        goto out;
    }
    if (resolve_path(&u, path, full, sizeof full) < 0) {
        send_error(id, 0, "path too long: %s", path);
        goto out;
    }
    size_t flen = strlen(full);
    if (full[flen - 1] == '/') {
        send_error(id, EISDIR, "is a directory: %s", full);
        goto out;
    }
    char *slash = strrchr(full, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.boxd-put-%d-%u", (int)(slash - full), full, (int)getpid(),
             ++counter);

    if (fs_enter(&u) < 0) {
        send_error(id, errno, "cannot switch to user %s: %s", u.name, errstr(errno));
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
        send_error(id, err ? err : EEXIST, "%s: %s", errstr(err ? err : EEXIST), what);
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
        fail_channel(c, errno, "chmod: %s: %s", errstr(errno), c->path);
        return;
    }
    int r = close(c->fd);
    c->fd = -1;
    if (r < 0) {
        fail_channel(c, errno, "write: %s: %s", errstr(errno), c->path);
        return;
    }
    /* The rename needs the user's rights on the directory, like the create did. */
    if (fs_enter(u) < 0) {
        fail_channel(c, errno, "cannot switch to user %s: %s", u->name, errstr(errno));
        return;
    }
    r = rename(c->tmp, c->path);
    fs_leave(u);
    if (r < 0) {
        fail_channel(c, errno, "%s: %s", errstr(errno), c->path);
        return;
    }
    free(c->tmp);
    c->tmp = NULL;   /* renamed: nothing to clean up */
    send_u64(R_DONE, c->id, c->bytes);
    close_channel(c, 0);
}

void put_data(struct channel *c, const unsigned char *p, size_t n)
{
    if (n == 0) {
        put_finish(c);
        return;
    }
    if (write_all(c->fd, p, n) < 0) {
        fail_channel(c, errno, "write: %s: %s", errstr(errno), c->path);
        return;
    }
    c->bytes += n;
    send_u32(R_ACK, c->id, (uint32_t)n);
}

/* ------------------------------------------------------------------------------------------ */
/* GET                                                                                         */

void handle_get(uint32_t id, const unsigned char *p, size_t n)
{
    struct map m;
    struct user u;
    char full[PATH_MAX];
    struct stat st;

    if (map_parse(p, n, &m) < 0) {
        send_error(id, 0, "malformed GET payload");
        return;
    }
    const char *path = map_get(&m, "path"), *uname = map_get(&m, "user");
    if (!uname)
        uname = "boxd";
    if (!path || !*path) {
        send_error(id, 0, "missing path");
        goto out;
    }
    if (lookup_user(uname, &u) < 0) {
        send_error(id, errno == ENOENT ? 0 : errno, errno == ENOENT ? "no such user: %s" : "cannot read /etc/passwd: %s",
                   errno == ENOENT ? uname : errstr(errno));
        goto out;
    }
    if (resolve_path(&u, path, full, sizeof full) < 0) {
        send_error(id, 0, "path too long: %s", path);
        goto out;
    }
    if (fs_enter(&u) < 0) {
        send_error(id, errno, "cannot switch to user %s: %s", u.name, errstr(errno));
        goto out;
    }
    /* O_NONBLOCK so a FIFO cannot hang us; it is rejected below anyway. */
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    fs_leave(&u);
    if (fd < 0) {
        send_error(id, errno, "%s: %s", errstr(errno), full);
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        send_error(id, errno, "%s: %s", errstr(errno), full);
        close(fd);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            send_error(id, EISDIR, "is a directory: %s", full);
        else
            send_error(id, EINVAL, "not a regular file: %s", full);
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
void get_pump(struct channel *c)
{
    ssize_t r = read_into_frame(c->fd, R_OUT, c->id);
    if (r > 0) {
        c->bytes += (uint64_t)r;
    } else if (r == 0) {
        send_u64(R_DONE, c->id, c->bytes);
        close_channel(c, 0);
    } else if (errno != EINTR && errno != EAGAIN) {
        fail_channel(c, errno, "read: %s: %s", errstr(errno), c->path);
    }
}
