// The commented shell script the language-server and VS Code suites open: two commands under a comment stating
// their intent (lines 2 and 5, 0-based) and one without.
export const COMMENTED_SCRIPT = [
  "#!/usr/bin/env bash",
  "# list all files in the temp directory",
  "ls -la /tmp",
  "",
  "# count lines in the log",
  "wc -l /var/log/syslog",
  "echo done",
  "",
].join("\n");
