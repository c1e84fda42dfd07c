/*
 * log.c — the one place that writes diagnostics, to stderr or syslog.
 * When stderr is the systemd journal (JOURNAL_STREAM names stderr's device
 * and inode, systemd.exec(5)), each line starts with its syslog priority
 * as "<N>" (sd-daemon(3)), so journalctl -p err finds the errors.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/log.h"

static const char	*log_prog = "smimepub";
static int		 log_syslog;
static int		 log_journal;	/* stderr is the journal: "<N>" */
static enum log_level	 log_max = LOG_LVL_INFO;
static _Thread_local char log_last[256];
/* the status line (log_status) and stderr's writers, under log_mu */
static pthread_mutex_t	 log_mu = PTHREAD_MUTEX_INITIALIZER;
static char		 log_stat[160];
#define LOG_CLEAR	"\r\033[K"	/* CR, EL: erase to end of line (ECMA-48) */

const char *
log_last_err(void)
{
	return log_last;
}

void
log_clear_err(void)
{
	log_last[0] = '\0';
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected. */
static int
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char c;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &c) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, int use_syslog, enum log_level level)
{
	log_prog = progname;
	log_syslog = use_syslog;
	log_max = level;
	log_journal = !use_syslog && log_stderr_is_journal();
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_reopen(void)
{
	if (log_syslog) {
		closelog();
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
	log_journal = !log_syslog && log_stderr_is_journal();
}

void
log_set_level(enum log_level level)
{
	log_max = level;
}

/* in the order of enum log_level */
const char *const log_level_names[] = { "err", "warn", "info", "debug", NULL };

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; log_level_names[i] != NULL; i++)
		if (strcmp(name, log_level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
log_vemit(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	va_list cp;

	if (lvl == LOG_LVL_ERR) {
		va_copy(cp, ap);
		vsnprintf(log_last, sizeof(log_last), fmt, cp);
		va_end(cp);
	}
	if (lvl > log_max)
		return;
	if (log_syslog) {
		vsyslog(prio[lvl], fmt, ap);
		return;
	}
	pthread_mutex_lock(&log_mu);
	if (log_stat[0] != '\0')
		fputs(LOG_CLEAR, stderr);
	if (log_journal)
		fprintf(stderr, "<%d>", prio[lvl]);
	fprintf(stderr, "%s: %s: ", log_prog, tag[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (log_stat[0] != '\0')
		fputs(log_stat, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_mu);
}

int
log_status(const char *line)
{
	int drawn = 0;

	if (log_syslog || !isatty(STDERR_FILENO))
		return 0;
	pthread_mutex_lock(&log_mu);
	if (line == NULL) {
		if (log_stat[0] != '\0')
			fputs(LOG_CLEAR, stderr);
		log_stat[0] = '\0';
	} else {
		snprintf(log_stat, sizeof(log_stat), "%s", line);
		fprintf(stderr, LOG_CLEAR "%s", log_stat);
		drawn = 1;
	}
	fflush(stderr);
	pthread_mutex_unlock(&log_mu);
	return drawn;
}

#define LOG_FN(name, lvl)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vemit(lvl, fmt, ap);			\
	va_end(ap);					\
}
LOG_FN(log_err, LOG_LVL_ERR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
log_ssl(const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	char buf[256];

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if (log_syslog) {
			syslog(LOG_ERR, "  openssl: %s", buf);
			continue;
		}
		pthread_mutex_lock(&log_mu);
		fprintf(stderr, "%s%s%s:   openssl: %s\n%s", log_stat[0] ?
		    LOG_CLEAR : "", log_journal ? "<3>" : "", log_prog, buf,
		    log_stat);
		pthread_mutex_unlock(&log_mu);
	}
}
