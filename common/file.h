/*
 * file.h — crash-safe file writes: a temporary file in the same directory,
 * created O_EXCL with the final mode under a tight umask, written, fsynced,
 * renamed over the target, and the directory fsynced. A reader sees the old
 * file or the new one, never a part; a secret is never readable by others.
 */
#ifndef SMIMEPUB_FILE_H
#define SMIMEPUB_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write len bytes to path with mode (e.g. 0600). 0, or -1 logged with path. */
int	file_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode);
/* mkdir -p of dir with mode for the directories it creates. */
int	file_mkdirs(const char *dir, mode_t mode);
/* Read a whole file (at most max bytes) into *out (caller frees). */
int	file_read_all(const char *path, size_t max, unsigned char **out,
	    size_t *len);

#endif
