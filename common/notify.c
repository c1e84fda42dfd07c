/*
 * notify.c — sd_notify(3) messages for Type=notify units. A failure to
 * notify is logged at debug level only: the daemon works on without it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/notify.h"

static void
notify_send(const char *msg)
{
	int rc;

	if ((rc = sd_notify(0, msg)) < 0)
		log_debug("sd_notify %s: %s", msg, strerror(-rc));
}

void
notify_ready(void)
{
	notify_send("READY=1");
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	/* MONOTONIC_USEC: what Type=notify-reload (systemd 253) wants with
	 * RELOADING=1; older systemd ignores it */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one line: a newline would start another assignment */
	msg[strcspn(msg, "\n")] = '\0';
	notify_send(msg);
}
