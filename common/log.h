/*
 * log.h — logging to stderr or syslog, with levels.
 * Every program calls log_init() once; modules report a failure once, where
 * its reason is known, naming the input at fault.
 */
#ifndef SMIMEPUB_LOG_H
#define SMIMEPUB_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *progname, int use_syslog, enum log_level level);
void	log_set_level(enum log_level level);
/* SIGHUP: reopen syslog, look again whether stderr is the journal. */
void	log_reopen(void);
/* "err", "warn", "info", "debug" -> level; -1 if unknown. */
int	log_level_parse(const char *name);
/* Those names, NULL-terminated (log.level's allowed values). */
extern const char *const log_level_names[];

void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The last error this thread logged (log_err/log_ssl), for the journal's
 * "reason" and the status attribute; "" if none. log_clear_err() forgets it.
 */
const char *log_last_err(void);
void	log_clear_err(void);
/*
 * A status line on a terminal (the progress of a long pass): when stderr is
 * a tty (and not syslog), line is drawn in place of the last one (carriage
 * return, erase to the end: ECMA-48 EL), and every log line clears it
 * first and draws it again after, so the two never mix. NULL clears it for
 * good. A no-op when stderr is not a terminal. 1 if it is drawn.
 */
int	log_status(const char *line);

/* log_err() followed by OpenSSL's error queue, which it empties. */
void	log_ssl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
