// A one-line progress bar on stderr when it is a terminal, plain lines otherwise (CI logs, pipes).

export class ProgressLine {
  private last = "";
  private lastPlain = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(label: string, done: number, total: number, detail = ""): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round(fraction * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      const line = `${label.padEnd(22)} ${bar} ${done}/${total} ${detail}`.slice(0, (this.stream.columns ?? 100) - 1);
      if (line !== this.last) this.stream.write(`\r\x1b[2K${line}`);
      this.last = line;
    } else if (done === total || Date.now() - this.lastPlain > 5000) {
      this.stream.write(`${label}: ${done}/${total}\n`);
      this.lastPlain = Date.now();
    }
  }

  message(text: string): void {
    this.clear();
    this.stream.write(text + "\n");
  }

  clear(): void {
    if (this.stream.isTTY && this.last) this.stream.write("\r\x1b[2K");
    this.last = "";
  }
}
