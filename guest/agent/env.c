/* The environment of an EXEC: the user's login variables, /etc/boxd/env and the request's env entries. */
#include "agent.h"

/* ------------------------------------------------------------------------------------------ */
/* EXEC                                                                                        */


static void strv_push(struct strv *s, char *str)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

void strv_free(struct strv *s)
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
int build_env(struct strv *e, const struct user *u, const struct map *m, const char *term,
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
