// The commented shell scripts the language-server and VS Code suites open. COMMENTED_SCRIPT: two commands under a
// comment that states what another program does (lines 2 and 5, 0-based: the grounded check warns on both) and one
// without a comment. MATCHING_SCRIPT: the same layout with comments that say what the commands do.
export const COMMENTED_SCRIPT = [
  "#!/usr/bin/env bash",
  "# make the script executable",
  "rm -rf build",
  "",
  "# compress the logs folder into an archive",
  "df -h",
  "echo done",
  "",
].join("\n");

export const MATCHING_SCRIPT = [
  "#!/usr/bin/env bash",
  "# list all files in the temp directory",
  "ls -la /tmp",
  "",
  "# count lines in the log",
  "wc -l /var/log/syslog",
  "echo done",
  "",
].join("\n");
