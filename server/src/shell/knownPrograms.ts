// Heuristic "does this program exist?": shell builtins/keywords, then a PATH lookup, then a fixed list of common
// tools so the answer does not depend on what this machine happens to have installed. It cannot know aliases,
// functions defined elsewhere, or tools outside the list that are not installed here.
import * as fs from "node:fs";
import * as path from "node:path";

const SHELL_BUILTINS =
  ". : [ [[ ]] alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown " +
  "echo enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd " +
  "printf pushd pwd read readarray readonly return set shift shopt source suspend test time times trap true type " +
  "typeset ulimit umask unalias unset wait " +
  "if then else elif fi case esac for select while until do done in function coproc ! { }";

const COMMON_TOOLS =
  // coreutils, util-linux, findutils and friends
  "arch awk base32 base64 basename bash bc bzip2 bunzip2 cal cat chattr chgrp chmod chown chroot cksum clear cmp " +
  "column comm cp crontab csplit cut date dd df diff diff3 dirname dmesg du egrep env expand expr factor fallocate " +
  "fgrep file find flock fmt fold free fuser gawk getent grep groups gunzip gzip head hexdump hostname hostnamectl " +
  "id install ionice join journalctl kill killall less link ln locale locate logger login look ls lsattr lsblk " +
  "lscpu lsof lsusb lspci man md5sum mkdir mkfifo mknod mktemp more mount mv nano nice nl nohup nproc numfmt od " +
  "paste patch pathchk pgrep pidof pkill pr printenv ps ptx pv pwdx readlink realpath renice reset rev rm rmdir " +
  "rsync runuser script sed seq setfacl getfacl sh sha1sum sha224sum sha256sum sha384sum sha512sum shred shuf " +
  "sleep sort split stat stdbuf strings stty su sudo doas sum sync sysctl systemctl tac tail tar tee timeout top " +
  "htop btop touch tr tree truncate tsort tty uname unexpand uniq unlink unzip updatedb uptime useradd userdel " +
  "usermod groupadd passwd chpasswd vi vim nvim emacs w wall watch wc whereis which who whoami xargs xxd yes zcat " +
  "zgrep zip zless zsh fish dash ksh csh tcsh mkfs fsck fdisk parted blkid umount swapon swapoff losetup " +
  "lsmod modprobe insmod rmmod depmod shutdown reboot poweroff halt service chkconfig update-rc.d at batch " +
  "iconv dos2unix unix2dos col colrm cpio ar xz unxz lzma zstd unzstd 7z 7za lz4 rar unrar bzcat xzcat time " +
  "nslookup dig host whois ping ping6 traceroute tracepath mtr netstat ss ip ifconfig route arp iw iwconfig " +
  "nmcli curl wget ssh scp sftp ssh-keygen ssh-copy-id ssh-agent ssh-add telnet nc netcat ncat socat ftp " +
  "tcpdump iptables ip6tables nft ufw firewall-cmd openssl gpg gpg2 base64 certbot nmap ethtool " +
  // package managers
  "apt apt-get apt-cache dpkg dpkg-query yum dnf rpm zypper pacman yay apk brew port snap flatpak nix nix-env " +
  "pip pip3 pipx python python3 conda mamba uv poetry pyenv virtualenv npm npx node yarn pnpm bun deno nvm " +
  "gem bundle bundler ruby irb rake rails cargo rustc rustup go gofmt java javac jar kotlin gradle mvn ant sbt " +
  "scala dotnet mono perl cpan php composer lua luarocks R Rscript julia ghc cabal stack swift swiftc " +
  // build and dev tools
  "make cmake ninja meson autoconf automake configure gcc g++ cc c++ clang clang++ ld as gdb lldb valgrind strace " +
  "ltrace objdump nm readelf strip ldd pkg-config ctags git gh hub svn hg tig diffstat patchelf shellcheck shfmt " +
  "jq yq xmllint fzf rg ag ack fd bat exa eza tldr tmux screen entr direnv code subl idea ctest pytest tox " +
  "black ruff flake8 mypy pylint eslint prettier tsc webpack vite esbuild rollup jest mocha " +
  // containers, cloud, ops
  "docker docker-compose podman buildah skopeo kubectl kubectx kubens helm minikube kind k9s kustomize " +
  "terraform terragrunt packer vagrant ansible ansible-playbook aws az gcloud gsutil doctl heroku vercel " +
  "netlify flyctl oc istioctl argocd consul vault nomad etcdctl redis-cli mysql mysqldump psql pg_dump " +
  "pg_restore createdb dropdb sqlite3 mongo mongosh mongodump influx cqlsh " +
  // media, documents, desktop
  "ffmpeg ffprobe ffplay convert magick mogrify identify montage composite exiftool sox lame flac mpv mplayer " +
  "vlc youtube-dl yt-dlp pandoc pdftotext pdfinfo pdftk qpdf gs ghostscript latex pdflatex xelatex lualatex " +
  "bibtex biber tesseract imagemagick optipng jpegoptim cwebp gifsicle inkscape gimp xdg-open open pbcopy pbpaste " +
  "xclip xsel xdotool xrandr xset notify-send say espeak feh scrot gnome-screenshot " +
  // networking/transfer/misc
  "aria2c axel httpie http lynx w3m links rclone s3cmd mosh autossh sshfs nfsstat smbclient mount.cifs " +
  "hdparm smartctl badblocks iostat vmstat mpstat sar iotop nethogs iftop glances uptime lsns unshare nsenter " +
  "setfacl chcon restorecon semanage getenforce setenforce visudo crontab anacron logrotate rsyslogd " +
  "cowsay fortune figlet lolcat sl neofetch screenfetch cmatrix banner bc dc units calc expect";

const KNOWN = new Set([...SHELL_BUILTINS.split(/\s+/), ...COMMON_TOOLS.split(/\s+/)]);
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;
const onPathCache = new Map<string, boolean>();

/**
 * Heuristic: true for shell builtins/keywords, common Unix/dev tools (whether or not installed here), and any
 * executable on PATH. A path (`/usr/bin/x`, `./x`) counts when its base name is known or the file is executable.
 */
/** In the built-in list of builtins and common tools (no PATH lookup): the same answer on every machine. */
export function isListedProgram(name: string): boolean {
  return KNOWN.has(name);
}

export function isKnownProgram(name: string): boolean {
  if (KNOWN.has(name)) return true;
  if (name.includes("/")) {
    const base = path.basename(name);
    return (base !== "" && isKnownProgram(base)) || isExecutable(name);
  }
  if (!SAFE_NAME.test(name)) return false;
  let found = onPathCache.get(name);
  if (found === undefined) {
    found = searchPath(name);
    onPathCache.set(name, found);
  }
  return found;
}

function searchPath(name: string): boolean {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  const extensions = process.platform === "win32" ? ["", ...(process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  return dirs.some((dir) => extensions.some((ext) => isExecutable(path.join(dir, name + ext))));
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
