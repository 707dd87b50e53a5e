// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit/merkle.h"
#include "util/base64.h"
#include "util/fileio.h"

#define KEY_FILE_MAX (16 * 1024)

struct audit_key {
	EVP_PKEY *pkey; /* private, or public only */
	bool priv;
	char name[AUDIT_KEY_NAME_MAX];
	uint8_t id[AUDIT_KEY_ID_LEN];
	uint8_t pub[AUDIT_KEY_PUB_LEN];
};

void audit_b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int audit_unb64(const char *s, size_t slen, uint8_t *out, size_t want)
{
	unsigned char tmp[512];
	char re[700];
	ssize_t n;

	if (want > 256 || slen != 4 * ((want + 2) / 3))
		return -EINVAL;
	n = base64_decode(s, slen, tmp);
	if (n != (ssize_t)want)
		return -EINVAL;
	/* only the canonical encoding: one text per key or signature */
	audit_b64(tmp, want, re);
	if (strlen(re) != slen || memcmp(re, s, slen) != 0)
		return -EINVAL;
	memcpy(out, tmp, want);
	return 0;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= AUDIT_KEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == '+' || name[i] == 0x7f)
			return false;
	return true;
}

/* C2SP signed-note key id: SHA-256(name || "\n" || 0x01 || pub)[:4] */
static int key_set_name(struct audit_key *k, const char *name)
{
	uint8_t buf[AUDIT_KEY_NAME_MAX + 2 + AUDIT_KEY_PUB_LEN], h[MERKLE_HASH_LEN];
	size_t n = strlen(name);
	int err;

	if (!name_ok(name))
		return -EINVAL;
	memcpy(buf, name, n);
	buf[n] = '\n';
	buf[n + 1] = 0x01;
	memcpy(buf + n + 2, k->pub, AUDIT_KEY_PUB_LEN);
	err = merkle_sha256(buf, n + 2 + AUDIT_KEY_PUB_LEN, h);
	if (err)
		return err;
	memcpy(k->id, h, AUDIT_KEY_ID_LEN);
	snprintf(k->name, sizeof(k->name), "%s", name);
	return 0;
}

static int key_wrap(EVP_PKEY *pkey, bool priv, const char *name, struct audit_key **out)
{
	struct audit_key *k;
	size_t len = AUDIT_KEY_PUB_LEN;
	int err;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &len) != 1 || len != AUDIT_KEY_PUB_LEN) {
		free(k);
		return -EINVAL;
	}
	err = key_set_name(k, name);
	if (err) {
		free(k);
		return err;
	}
	k->pkey = pkey;
	k->priv = priv;
	*out = k;
	return 0;
}

int audit_key_rename(struct audit_key *k, const char *name)
{
	return key_set_name(k, name);
}

void audit_key_free(struct audit_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

bool audit_key_has_private(const struct audit_key *k)
{
	return k->priv;
}

const char *audit_key_name(const struct audit_key *k)
{
	return k->name;
}

const uint8_t *audit_key_id(const struct audit_key *k)
{
	return k->id;
}

const uint8_t *audit_key_pub(const struct audit_key *k)
{
	return k->pub;
}

void audit_key_vkey(const struct audit_key *k, char *out, size_t size)
{
	uint8_t raw[1 + AUDIT_KEY_PUB_LEN];
	char b64[64];

	raw[0] = 0x01; /* Ed25519 */
	memcpy(raw + 1, k->pub, AUDIT_KEY_PUB_LEN);
	audit_b64(raw, sizeof(raw), b64);
	snprintf(out, size, "%s+%02x%02x%02x%02x+%s", k->name, k->id[0], k->id[1], k->id[2],
		 k->id[3], b64);
}

void audit_key_fingerprint(const struct audit_key *k, char *out, size_t size)
{
	uint8_t h[MERKLE_HASH_LEN];
	char b64[64];
	size_t n;

	if (merkle_sha256(k->pub, AUDIT_KEY_PUB_LEN, h)) {
		snprintf(out, size, "SHA256:?");
		return;
	}
	audit_b64(h, sizeof(h), b64);
	n = strlen(b64);
	while (n && b64[n - 1] == '=')
		b64[--n] = '\0';
	snprintf(out, size, "SHA256:%s", b64);
}

int audit_key_from_vkey(const char *vkey, struct audit_key **out)
{
	const char *p1 = strchr(vkey, '+'), *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	uint8_t raw[1 + AUDIT_KEY_PUB_LEN], id[AUDIT_KEY_ID_LEN];
	char name[AUDIT_KEY_NAME_MAX];
	size_t tail;
	EVP_PKEY *pkey;
	int err;

	if (!p1 || !p2 || p1 == vkey || (size_t)(p1 - vkey) >= sizeof(name))
		return -EINVAL;
	memcpy(name, vkey, (size_t)(p1 - vkey));
	name[p1 - vkey] = '\0';
	/* a vkey read from a file may end in a newline */
	tail = strlen(p2 + 1);
	while (tail && (p2[tail] == '\n' || p2[tail] == '\r'))
		tail--;
	if (merkle_unhex(p1 + 1, (size_t)(p2 - p1 - 1), id, sizeof(id)) ||
	    audit_unb64(p2 + 1, tail, raw, sizeof(raw)) || raw[0] != 0x01)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1, AUDIT_KEY_PUB_LEN);
	if (!pkey)
		return -EINVAL;
	err = key_wrap(pkey, false, name, out);
	if (err) {
		EVP_PKEY_free(pkey);
		return err;
	}
	/* the id is derived; a vkey whose id disagrees is a typo or a forgery */
	if (memcmp((*out)->id, id, sizeof(id)) != 0) {
		audit_key_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* Reads a small file opened as fd; cleanses and frees on error. */
static int read_small(int fd, char **buf_out, size_t *len_out)
{
	char *buf = malloc(KEY_FILE_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	{
		long n = fileio_read_full(fd, buf, KEY_FILE_MAX);

		if (n < 0 || n == KEY_FILE_MAX) {
			OPENSSL_cleanse(buf, KEY_FILE_MAX);
			free(buf);
			return n < 0 ? (int)n : -EFBIG;
		}
		len = (size_t)n;
	}
	buf[len] = '\0';
	*buf_out = buf;
	*len_out = len;
	return 0;
}

int audit_key_from_pub_file(const char *path, const char *name, struct audit_key **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	EVP_PKEY *pkey = NULL;
	char *buf = NULL;
	size_t len = 0;
	BIO *bio;

	if (fd < 0)
		return -errno;
	err = read_small(fd, &buf, &len);
	close(fd);
	if (err)
		return err;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(buf);
	if (!pkey)
		return -EINVAL;
	err = key_wrap(pkey, false, name, out);
	if (err)
		EVP_PKEY_free(pkey);
	return err;
}

/* The state directory: ours, and nobody else may add or swap files in it. */
static int check_dir(const char *dir, bool create)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || !create)
			return -errno;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return -errno;
		if (stat(dir, &st) != 0)
			return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

static int load_private(const char *path, const char *name, struct audit_key **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err;
	EVP_PKEY *pkey = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	BIO *bio;

	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	err = read_small(fd, &buf, &len);
	close(fd);
	if (err)
		return err;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (!pkey)
		return -EINVAL;
	err = key_wrap(pkey, true, name, out);
	if (err)
		EVP_PKEY_free(pkey);
	return err;
}

/* Writes data to a fresh temporary file in dir (mode), fsync'd; its path in tmp. */
static int write_tmp(const char *dir, const char *data, size_t len, mode_t mode, char *tmp,
		     size_t tmp_size)
{
	int fd, err;

	snprintf(tmp, tmp_size, "%s/.tmp.XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, mode 0600 */
	if (fd < 0)
		return -errno;
	err = fchmod(fd, mode) ? -errno : 0;
	if (!err)
		err = fileio_write_all(fd, data, len);
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/*
 * A new key appears under its final name whole (written to a temporary
 * file, then hard-linked: link() fails rather than replacing a key another
 * process created meanwhile, in which case that key is the one used).
 */
static int create_private(const char *dir, const char *path)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char tmp[PATH_MAX];
	BIO *bio = NULL;
	char *pem = NULL;
	long len;
	int err;

	if (!pkey)
		return -ENOMEM;
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		err = -ENOMEM;
		goto cleanup;
	}
	len = BIO_get_mem_data(bio, &pem);
	if (len <= 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = write_tmp(dir, pem, (size_t)len, 0600, tmp, sizeof(tmp));
	OPENSSL_cleanse(pem, (size_t)len);
	if (err)
		goto cleanup;
	if (link(tmp, path) != 0)
		err = errno == EEXIST ? 0 : -errno;
	unlink(tmp);
	if (!err)
		err = fileio_fsync_dir(dir);
cleanup:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return err;
}

char *audit_key_pub_pem(const struct audit_key *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long len;

	if (!bio || PEM_write_bio_PUBKEY(bio, k->pkey) != 1)
		goto cleanup;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto cleanup;
	out = malloc((size_t)len + 1);
	if (out) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
cleanup:
	BIO_free(bio);
	return out;
}

/* signing.pub for operators and auditors; rewritten when it does not match */
static int write_pub(const char *dir, const struct audit_key *k)
{
	char path[PATH_MAX], tmp[PATH_MAX], *pem = audit_key_pub_pem(k), *cur = NULL;
	size_t cur_len = 0;
	int fd, err;

	if (!pem)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_PUB_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		err = read_small(fd, &cur, &cur_len);
		close(fd);
		if (!err && cur_len == strlen(pem) && memcmp(cur, pem, cur_len) == 0) {
			free(cur);
			free(pem);
			return 0;
		}
		free(cur);
	}
	err = write_tmp(dir, pem, strlen(pem), 0644, tmp, sizeof(tmp));
	if (!err && rename(tmp, path) != 0) {
		err = -errno;
		unlink(tmp);
	}
	if (!err)
		err = fileio_fsync_dir(dir);
	free(pem);
	return err;
}

int audit_key_load(const char *state_dir, const char *name, bool create, struct audit_key **out)
{
	char path[PATH_MAX];
	int err;

	*out = NULL;
	if (!name_ok(name))
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, AUDIT_KEY_FILE) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	err = check_dir(state_dir, create);
	if (err)
		return err;
	err = load_private(path, name, out);
	if (err == -ENOENT && create) {
		err = create_private(state_dir, path);
		if (!err)
			err = load_private(path, name, out);
	}
	if (err)
		return err;
	if (create) {
		err = write_pub(state_dir, *out);
		if (err) {
			audit_key_free(*out);
			*out = NULL;
		}
	}
	return err;
}

int audit_key_sign(const struct audit_key *k, const void *msg, size_t len,
		   uint8_t sig[AUDIT_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t siglen = AUDIT_SIG_LEN;
	int ok;

	if (!k->priv)
		return -EPERM;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* Ed25519 is one-shot: no digest, EVP_DigestSign only */
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == AUDIT_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

bool audit_key_verify(const struct audit_key *k, const void *msg, size_t len,
		      const uint8_t sig[AUDIT_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, AUDIT_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}
