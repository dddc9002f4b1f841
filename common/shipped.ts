// Files the package ships beside the code, relative to the package root (the repository, or the installed extension).
// One declaration: the client, the server, the CLI, the scripts that write them and the tests all read these names.

/** The model used when none is configured (the CLI's --model, the extension's inversion.model). */
export const DEFAULT_MODEL_FILE = "models/inversion-shell.gguf";

/** The example index: (description, command) pairs from tldr-pages and cheat sheets, with sources and licences. */
export const EXAMPLE_INDEX_FILE = "models/examples.jsonl.gz";

/** Attribution of every source in the example index. */
export const EXAMPLE_INDEX_ATTRIBUTION = "models/examples.README.md";
