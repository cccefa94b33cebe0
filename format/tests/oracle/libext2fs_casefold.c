/*
 * The casefold oracle: e2fsprogs' own utf8-12.1 tables and directory
 * hash, reached through libext2fs.so.2 (no headers needed).
 *
 * Reads lines from stdin and answers one line each:
 *   "F <hex name>"            -> "<hex folded name>" or "E <errno>"
 *   "H <version> <hex name>"  -> "<hash> <minor hash>" (hex), the hash of
 *                                a casefolded directory's entry, seed 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*nls_casefold_fn)(const void *table, const unsigned char *str,
			       size_t len, unsigned char *dest, size_t dlen);

/* struct ext2fs_nls_ops: casefold comes first. */
struct nls_ops {
	nls_casefold_fn casefold;
};

/* struct ext2fs_nls_table. */
struct nls_table {
	int version;
	const struct nls_ops *ops;
};

const struct nls_table *ext2fs_load_nls_table(int encoding);
long ext2fs_dirhash2(int version, const char *name, int len,
		     const struct nls_table *charset, int hash_flags,
		     const unsigned int *seed, unsigned int *ret_hash,
		     unsigned int *ret_minor_hash);

#define EXT4_CASEFOLD_FL 0x40000000

static int unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (s[0] && s[1] && s[0] != '\n') {
		unsigned int b;

		if (n >= max || sscanf(s, "%2x", &b) != 1)
			return -1;
		out[n++] = (unsigned char)b;
		s += 2;
	}
	return (int)n;
}

int main(void)
{
	const struct nls_table *t = ext2fs_load_nls_table(1);
	static char line[8192];
	unsigned char name[4096], out[8192];
	const unsigned int seed[4] = { 0, 0, 0, 0 };

	if (!t) {
		fprintf(stderr, "libext2fs has no utf8 table\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'F') {
			int n = unhex(line + 2, name, sizeof(name));
			int r = n < 0 ? -22 : t->ops->casefold(t, name, n, out, sizeof(out));

			if (r < 0) {
				printf("E %d\n", -r);
			} else {
				for (int i = 0; i < r; i++)
					printf("%02x", out[i]);
				printf("\n");
			}
		} else if (line[0] == 'H') {
			int version = atoi(line + 2);
			char *p = strchr(line + 2, ' ');
			int n = p ? unhex(p + 1, name, sizeof(name)) : -1;
			unsigned int h = 0, minor = 0;
			long err = n < 0 ? 22 :
				ext2fs_dirhash2(version, (char *)name, n, t,
						EXT4_CASEFOLD_FL, seed, &h, &minor);

			if (err)
				printf("E %ld\n", err);
			else
				printf("%08x %08x\n", h, minor);
		} else {
			printf("E 22\n");
		}
	}
	return 0;
}
