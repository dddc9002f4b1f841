// bash's builtin commands (bash 5.2's `help` list, keywords left out). Most have no page of their own: their text is
// in bash(1) and `help NAME`, which is not run (and may not be installed).
const BASH_BUILTINS = new Set(
  (": . [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo " +
    "enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd " +
    "printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type " +
    "typeset ulimit umask unalias unset wait").split(" "),
);

export function isBashBuiltin(name: string): boolean {
  return BASH_BUILTINS.has(name);
}
