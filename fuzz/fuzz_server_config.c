/* fuzz_server_config: `hwjose serve`'s JSON config (src/server/config.c). The input is
 * written to a memfd and loaded through srv_config_load, the very path the service takes;
 * no key is opened (a config names key URIs and PKCS#11 modules, which the fuzzer must not
 * load). Invariant: a rejected config says why; an accepted one is internally consistent. */
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], msg[512] = "";
    srv_config *cfg = NULL;
    int fd = memfd_create("hwj-fuzz-config", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (srv_config_load(path, &cfg, msg, sizeof(msg)) == 0) {
        if (!cfg || !cfg->listen_host || cfg->nkeys == 0 || cfg->workers == 0 || !cfg->audit_path ||
            (!cfg->tls_cert && !cfg->allow_plain_http_non_loopback &&
             !srv_host_is_loopback(cfg->listen_host)))
            abort();
        for (size_t i = 0; i < cfg->nkeys; i++) {
            const srv_key_conf *k = &cfg->keys[i];
            if (!k->name || !k->uri || !hwj_alg_name(k->alg) || k->max_ttl < k->ttl)
                abort();
        }
        for (size_t i = 0; i < cfg->nclients; i++)
            if (!cfg->clients[i].name || !cfg->clients[i].perms)
                abort();
        srv_config_free(cfg);
    } else if (cfg || msg[0] == '\0') {
        abort();
    }
    close(fd);
    return 0;
}
