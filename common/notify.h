/*
 * notify.h — telling systemd how the daemon is doing (sd_notify(3) through
 * libsystemd): READY=1 once it serves, RELOADING=1 ... READY=1 around a
 * reload, STOPPING=1, and a STATUS= line that `systemctl status` shows.
 * Without NOTIFY_SOCKET (not started by systemd as Type=notify) every call
 * does nothing.
 */
#ifndef SMIMEPUB_NOTIFY_H
#define SMIMEPUB_NOTIFY_H

void	notify_ready(void);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
