/*
 * The conform report as PDF: the HTML page (report_html.c) printed by headless Chromium, so the
 * PDF is exactly what a browser shows (Japanese text with the system's CJK fonts, the A4 print
 * CSS of the page). Chromium runs with a private profile in a temporary directory that is removed
 * afterwards, with every background network feature off and name resolution disabled: printing a
 * local file needs no network, and the page's CSP forbids external resources anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conform/conform.h"
#include "core/error.h"

/* snprintf into an array, true if nothing was cut (a cut path would name another file). */
#define PATH_FITS(buf, ...) ((size_t)snprintf((buf), sizeof(buf), __VA_ARGS__) < sizeof(buf))

/* Seconds Chromium may take: a cold start plus the layout of a long report on a slow, loaded CI
 * machine is well under a minute; beyond that it hangs (e.g. no display libraries). */
#define PDF_TIMEOUT_S 90
/* Bytes of Chromium's own output quoted in an error message: its last complaint. */
#define PDF_LOG_TAIL 300
/* Longest path or URL handled (file names of reports are short; PATH_MAX-sized). */
#define PDF_PATH_MAX 4096
/* Environment entries passed on (the caller's environment plus three of ours). */
#define PDF_ENV_MAX 512

extern char **environ;

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* The Chromium binary: $TORIDE_CHROMIUM (a path, or a name looked up in PATH), else the first of
 * the usual names found in PATH. */
static bool
find_chromium(char *out, size_t cap)
{
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome-stable",
	                                    "google-chrome"};
	const char *env = getenv("TORIDE_CHROMIUM");
	const char *path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		const char *name = env != NULL && env[0] ? env : names[k];
		if (strchr(name, '/') != NULL) {
			if (access(name, X_OK) == 0 && (size_t)snprintf(out, cap, "%s", name) < cap)
				return true;
		} else {
			for (const char *p = path; *p != '\0';) {
				size_t len = strcspn(p, ":");
				int w = snprintf(out, cap, "%.*s/%s", (int)len, len ? p : ".", name);
				if (w > 0 && (size_t)w < cap && access(out, X_OK) == 0)
					return true;
				p += len;
				if (*p == ':')
					p++;
			}
		}
		if (env != NULL && env[0])
			break;
	}
	return false;
}

/* file:// URL of an absolute path, every byte outside the unreserved set and '/' percent-encoded. */
static bool
file_url(const char *abs, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	const char *pre = "file://";
	if (strlen(pre) >= cap)
		return false;
	memcpy(out, pre, strlen(pre));
	o = strlen(pre);
	for (const unsigned char *p = (const unsigned char *)abs; *p != '\0'; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		             *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/';
		if (o + (plain ? 1 : 3) >= cap)
			return false;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return true;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* The last line of Chromium's output, printable ASCII only, for an error message. */
static void
log_tail(const char *log_path, char *out, size_t cap)
{
	char buf[PDF_LOG_TAIL + 1];
	size_t n = 0;
	out[0] = '\0';
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end > 0) {
		off_t from = end > PDF_LOG_TAIL ? end - PDF_LOG_TAIL : 0;
		ssize_t r = pread(fd, buf, (size_t)(end - from), from);
		n = r > 0 ? (size_t)r : 0;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	size_t start = n;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	size_t o = 0;
	for (size_t i = start; i < n && o + 1 < cap; i++)
		out[o++] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
	out[o] = '\0';
}

/* Waits for pid up to timeout_s; on timeout kills its process group. Returns the wait status, or
 * -1 on timeout. */
static int
wait_bounded(pid_t pid, unsigned timeout_s)
{
	struct timespec t0, now, nap = {0, 20 * 1000 * 1000};
	int status = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&nap, NULL);
	}
}

int
conform_report_pdf(const char *html_path, const char *pdf_path, char *err, size_t err_cap)
{
	char bin[PDF_PATH_MAX], html_abs[PATH_MAX], pdf_abs[PDF_PATH_MAX], url[3 * PDF_PATH_MAX];
	char tmp[PDF_PATH_MAX] = "", log_path[PDF_PATH_MAX], tail[PDF_LOG_TAIL + 1];
	char a_pdf[PDF_PATH_MAX + 32], a_udd[PDF_PATH_MAX + 32];
	char e_home[PDF_PATH_MAX + 8], e_cfg[PDF_PATH_MAX + 24], e_cache[PDF_PATH_MAX + 24];
	char *envp[PDF_ENV_MAX + 4];
	int rc, logfd = -1, devnull = -1;
	pid_t pid = -1;
	struct stat st;

	seterr(err, err_cap, "%s", "");
	if (html_path == NULL || pdf_path == NULL || pdf_path[0] == '\0') {
		seterr(err, err_cap, "no HTML or PDF path");
		return TORIDE_EINVAL;
	}
	if (!find_chromium(bin, sizeof bin)) {
		seterr(err, err_cap, "chromium not found (install the Debian package chromium, see scripts/deps.sh, "
		       "or set TORIDE_CHROMIUM to the browser's path); the HTML report is complete without the PDF");
		return TORIDE_ENOTFOUND;
	}
	if (realpath(html_path, html_abs) == NULL || stat(html_abs, &st) != 0 || !S_ISREG(st.st_mode)) {
		seterr(err, err_cap, "%s: not a readable file", html_path);
		return TORIDE_EINVAL;
	}
	if (!file_url(html_abs, url, sizeof url)) {
		seterr(err, err_cap, "%s: path too long", html_path);
		return TORIDE_ETOOBIG;
	}
	/* Chromium runs in the temporary directory, so a relative PDF path is made absolute here. */
	if (pdf_path[0] == '/') {
		rc = snprintf(pdf_abs, sizeof pdf_abs, "%s", pdf_path);
	} else {
		char cwd[PDF_PATH_MAX];
		if (getcwd(cwd, sizeof cwd) == NULL) {
			seterr(err, err_cap, "cannot get the working directory");
			return TORIDE_EIO;
		}
		rc = snprintf(pdf_abs, sizeof pdf_abs, "%s/%s", cwd, pdf_path);
	}
	if (rc < 0 || (size_t)rc >= sizeof pdf_abs) {
		seterr(err, err_cap, "%s: path too long", pdf_path);
		return TORIDE_ETOOBIG;
	}
	/* A PDF left from an earlier run must not pass for this one's. */
	if (unlink(pdf_abs) != 0 && errno != ENOENT) {
		seterr(err, err_cap, "%s: cannot replace: %s", pdf_path, strerror(errno));
		return TORIDE_EIO;
	}

	const char *tmpdir = getenv("TMPDIR");
	if (!PATH_FITS(tmp, "%s/toride-pdf-XXXXXX", tmpdir != NULL && tmpdir[0] == '/' ? tmpdir : "/tmp")) {
		seterr(err, err_cap, "TMPDIR is too long");
		tmp[0] = '\0';
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	if (mkdtemp(tmp) == NULL) {
		seterr(err, err_cap, "cannot create a temporary directory: %s", strerror(errno));
		tmp[0] = '\0';
		rc = TORIDE_EIO;
		goto out;
	}
	if (!PATH_FITS(log_path, "%s/chromium.log", tmp) || !PATH_FITS(a_pdf, "--print-to-pdf=%s", pdf_abs) ||
	    !PATH_FITS(a_udd, "--user-data-dir=%s/profile", tmp)) {
		seterr(err, err_cap, "temporary or output path too long");
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	/* Chromium also keeps state under $HOME and the XDG directories: point them at the temporary
	 * directory too, so nothing of the run stays behind and nothing of the user's is read. */
	if (!PATH_FITS(e_home, "HOME=%s", tmp) || !PATH_FITS(e_cfg, "XDG_CONFIG_HOME=%s", tmp) ||
	    !PATH_FITS(e_cache, "XDG_CACHE_HOME=%s", tmp)) {
		seterr(err, err_cap, "temporary path too long");
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	size_t ne = 0;
	for (char **e = environ; e != NULL && *e != NULL && ne < PDF_ENV_MAX; e++) {
		if (strncmp(*e, "HOME=", 5) != 0 && strncmp(*e, "XDG_CONFIG_HOME=", 16) != 0 &&
		    strncmp(*e, "XDG_CACHE_HOME=", 15) != 0)
			envp[ne++] = *e;
	}
	envp[ne++] = e_home;
	envp[ne++] = e_cfg;
	envp[ne++] = e_cache;
	envp[ne] = NULL;

	const char *argv[40];
	size_t na = 0;
	argv[na++] = bin;
	argv[na++] = "--headless=new";
	/* As root Chromium refuses to start with its sandbox (it cannot drop to an unprivileged user
	 * for the renderers), so only then it runs without one. What it renders is our own page from
	 * a local file, with scripts and external resources forbidden by its CSP and no network. */
	if (geteuid() == 0)
		argv[na++] = "--no-sandbox";
	argv[na++] = "--disable-gpu";
	argv[na++] = "--disable-dev-shm-usage";
	argv[na++] = "--no-first-run";
	argv[na++] = "--no-default-browser-check";
	argv[na++] = "--disable-background-networking";
	argv[na++] = "--disable-component-update";
	argv[na++] = "--disable-sync";
	argv[na++] = "--disable-default-apps";
	argv[na++] = "--disable-extensions";
	argv[na++] = "--disable-breakpad";
	argv[na++] = "--disable-domain-reliability";
	argv[na++] = "--disable-client-side-phishing-detection";
	argv[na++] = "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,"
	             "CertificateTransparencyComponentUpdater";
	argv[na++] = "--metrics-recording-only";
	/* No name resolves and every proxied request goes to a closed loopback port: nothing leaves. */
	argv[na++] = "--host-resolver-rules=MAP * ~NOTFOUND";
	argv[na++] = "--proxy-server=127.0.0.1:9";
	argv[na++] = "--no-pdf-header-footer";
	argv[na++] = a_udd;
	argv[na++] = a_pdf;
	argv[na++] = url;
	argv[na] = NULL;

	logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || devnull < 0) {
		seterr(err, err_cap, "cannot open %s: %s", logfd < 0 ? log_path : "/dev/null", strerror(errno));
		rc = TORIDE_EIO;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		seterr(err, err_cap, "fork: %s", strerror(errno));
		rc = TORIDE_EIO;
		goto out;
	}
	if (pid == 0) {
		/* Own process group, so a timeout can end Chromium's helper processes with it. */
		setpgid(0, 0);
		if (dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || chdir(tmp) != 0)
			_exit(126);
		execve(bin, (char *const *)argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	int status = wait_bounded(pid, PDF_TIMEOUT_S);
	/* Helpers (zygote, renderer) normally exit with the browser; any left over hold the profile. */
	kill(-pid, SIGKILL);
	log_tail(log_path, tail, sizeof tail);
	if (status == -1) {
		seterr(err, err_cap, "chromium did not finish within %d s (killed); last output: %s", PDF_TIMEOUT_S,
		       tail[0] ? tail : "(none)");
		rc = TORIDE_ETIMEOUT;
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		seterr(err, err_cap, "%s failed (%s %d); last output: %s", bin,
		       WIFEXITED(status) ? "exit status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail[0] ? tail : "(none)");
		rc = TORIDE_EIO;
		goto out;
	}
	char head[5] = {0};
	int fd = open(pdf_abs, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, head, sizeof head) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof head || memcmp(head, "%PDF-", sizeof head) != 0) {
		seterr(err, err_cap, "chromium wrote no PDF to %s; last output: %s", pdf_path, tail[0] ? tail : "(none)");
		rc = TORIDE_EIO;
		goto out;
	}
	rc = 0;
out:
	if (logfd >= 0)
		close(logfd);
	if (devnull >= 0)
		close(devnull);
	if (tmp[0] != '\0')
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
