/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The host's Ed25519 signing key (OpenSSL libcrypto) and its public forms.
 * <state_dir>/signing.key holds the private key (PEM PKCS#8, mode 0600,
 * owned by the agent's user; refused otherwise), <state_dir>/signing.pub
 * the public key (PEM SubjectPublicKeyInfo).  Public identities follow
 * C2SP signed-note: key id = SHA-256(name || "\n" || 0x01 || pub)[:4],
 * verifier key "<name>+<hex key id>+<base64(0x01 || pub)>".  Private key
 * bytes never leave this module (no accessor, buffers are cleansed).
 */
#ifndef LLMTAP_AUDIT_KEYS_H
#define LLMTAP_AUDIT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_KEY_NAME_MAX 256
#define AUDIT_KEY_ID_LEN 4
#define AUDIT_KEY_PUB_LEN 32
#define AUDIT_SIG_LEN 64
#define AUDIT_KEY_FILE "signing.key"
#define AUDIT_PUB_FILE "signing.pub"
/* "SHA256:" + unpadded base64 of 32 bytes */
#define AUDIT_FINGERPRINT_LEN 64
/* name + '+' + 8 hex + '+' + base64 of 33 bytes */
#define AUDIT_VKEY_LEN (AUDIT_KEY_NAME_MAX + 64)

struct audit_key;

/*
 * Loads <state_dir>/signing.key, or with create, makes one when it does
 * not exist (state_dir created 0700 if missing; the file appears whole or
 * not at all, and two racing creators end up with the same key).  name is
 * the signed-note key name (no whitespace, no '+').  Returns 0,
 * -ENOENT (no key and !create), -EPERM (file or directory readable or
 * writable by group/other, or not owned by the effective user), -EINVAL
 * (not an Ed25519 PEM key, bad name), or another negative errno.
 */
int audit_key_load(const char *state_dir, const char *name, bool create, struct audit_key **out);
/* A public-only key from a verifier key string, or -EINVAL. */
int audit_key_from_vkey(const char *vkey, struct audit_key **out);
/* A public-only key from a PEM public key file plus a key name. */
int audit_key_from_pub_file(const char *path, const char *name, struct audit_key **out);
/* The same public key under another name (key ids depend on it). */
int audit_key_rename(struct audit_key *k, const char *name);
void audit_key_free(struct audit_key *k);

bool audit_key_has_private(const struct audit_key *k);
const char *audit_key_name(const struct audit_key *k);
const uint8_t *audit_key_id(const struct audit_key *k); /* AUDIT_KEY_ID_LEN bytes */
const uint8_t *audit_key_pub(const struct audit_key *k); /* AUDIT_KEY_PUB_LEN bytes */
/* The verifier key string (out >= AUDIT_VKEY_LEN). */
void audit_key_vkey(const struct audit_key *k, char *out, size_t size);
/* "SHA256:<unpadded base64 of SHA-256(pub)>" (out >= AUDIT_FINGERPRINT_LEN). */
void audit_key_fingerprint(const struct audit_key *k, char *out, size_t size);
/* The public key as PEM text (malloc'd, caller frees), NULL on -ENOMEM. */
char *audit_key_pub_pem(const struct audit_key *k);

/* Ed25519 signature of msg; -EPERM for a public-only key. */
int audit_key_sign(const struct audit_key *k, const void *msg, size_t len,
		   uint8_t sig[AUDIT_SIG_LEN]);
bool audit_key_verify(const struct audit_key *k, const void *msg, size_t len,
		      const uint8_t sig[AUDIT_SIG_LEN]);

/* Standard base64 of n bytes with padding (out >= 4 * ((n + 2) / 3) + 1). */
void audit_b64(const uint8_t *p, size_t n, char *out);
/* Decodes canonical padded base64 of exactly want bytes; 0 or -EINVAL. */
int audit_unb64(const char *s, size_t slen, uint8_t *out, size_t want);

#endif
