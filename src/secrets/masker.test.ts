import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MASK, Masker, maskForms, type MaskStream } from "./masker.js";

function masker(...values: string[]): Masker {
  const m = new Masker();
  for (const v of values) m.add(v);
  return m;
}

function streamAll(s: MaskStream, chunks: string[]): string {
  return chunks.map((c) => s.write(c)).join("") + s.end();
}

/** Every visible (unmasked) stretch of `output`: none may contain a secret. */
function expectNoSecretVisible(output: string, secrets: string[]): void {
  for (const visible of output.split(MASK)) {
    const leaked = secrets.filter((s) => visible.includes(s));
    if (leaked.length > 0) expect.fail(`${JSON.stringify(leaked)} visible in ${JSON.stringify(output.slice(0, 2000))}`);
  }
}

describe("Masker.mask", () => {
  it("replaces a secret with *** wherever it occurs", () => {
    const m = masker("hunter22");
    expect(m.mask("password=hunter22 and again hunter22.")).toBe("password=*** and again ***.");
    expect(m.mask("nothing here")).toBe("nothing here");
    expect(m.mask("")).toBe("");
  });

  it("never registers empty or whitespace-only values", () => {
    const m = masker("", " ", "\n\t\r\n ");
    expect(m.size).toBe(0);
    expect(m.mask("a b\n c")).toBe("a b\n c");
    expect(maskForms("   ")).toEqual([]);
  });

  it("masks values made of regex metacharacters literally", () => {
    const value = String.raw`a.b*c+?(x)[y]{2}|^$\/-`;
    const m = masker(value);
    expect(m.mask(`before ${value} after`)).toBe("before *** after");
    expect(m.mask("aXbbbc+?(x)[y]{2}|^$\\/-")).toBe("aXbbbc+?(x)[y]{2}|^$\\/-");
    expect(masker("a|b").mask("a b ab a|b")).toBe("a b ab ***");
    expect(masker("$&").mask("x$&y")).toBe("x***y");
  });

  it("masks the trimmed value (a secret read from a file with a trailing newline)", () => {
    const m = masker("tok\n");
    expect(m.mask("Authorization: tok")).toBe("Authorization: ***");
  });

  it("masks each line of a multi-line value, but not lines shorter than 4 characters", () => {
    const value = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n  AQEFAASCBKcwggSjAgEAAoIB  \n}\n-----END KEY-----\n";
    const m = masker(value);
    expect(m.mask(value)).toBe("***");
    expect(m.mask(value.trimEnd())).toBe("***");
    expect(m.mask(`line: MIIEvQIBADANBgkqhkiG9w0B`)).toBe("line: ***");
    expect(m.mask(`indented: AQEFAASCBKcwggSjAgEAAoIB end`)).toBe("indented: *** end");
    expect(m.mask("if (x) { y }")).toBe("if (x) { y }");
    const printed = value.split("\n").map((l) => `::debug::${l}`).join("\r\n");
    expectNoSecretVisible(m.mask(printed), ["MIIEvQIBADANBgkqhkiG9w0B", "AQEFAASCBKcwggSjAgEAAoIB", "BEGIN KEY", "END KEY"]);
  });

  it("masks the base64 encoding of a value, at any alignment inside longer base64", () => {
    const value = "correct-horse-battery-staple";
    const m = masker(value);
    expect(m.mask(`echo ${Buffer.from(value).toString("base64")} | base64 -d`)).toBe("echo *** | base64 -d");
    for (const prefix of ["", "u", "us", "use", "user:", "ab\u00e9"]) {
      for (const suffix of ["", "\n", "x", "xy", "xyz!"]) {
        const encoded = Buffer.from(prefix + value + suffix).toString("base64");
        const out = m.mask(`Authorization: Basic ${encoded}`);
        expect(out).toContain(MASK);
        // At most the characters shared with the neighbours stay visible.
        const visible = out.length - MASK.length - "Authorization: Basic ".length;
        const neighbours = Math.ceil((Buffer.byteLength(prefix) + Buffer.byteLength(suffix)) * (4 / 3)) + 4;
        expect(visible).toBeLessThanOrEqual(neighbours);
      }
    }
  });

  it("does not mask short base64 fragments of short values", () => {
    const forms = maskForms("ab");
    expect(forms).toContain("ab");
    expect(forms).toContain("YWI=");
    expect(forms.every((f) => f.length >= 2)).toBe(true);
    expect(forms.filter((f) => f !== "ab" && f !== "YWI=")).toEqual([]);
  });

  it("masks the JSON-escaped and URL-encoded forms", () => {
    const value = 'pa"ss\\wo/rd\nline2 & more';
    const m = masker(value);
    expect(m.mask(JSON.stringify({ password: value }))).toBe('{"password":"***"}');
    expect(m.mask(`https://example.com/?p=${encodeURIComponent(value)}&x=1`)).toBe("https://example.com/?p=***&x=1");
    expect(maskForms("plain")).not.toContain(undefined);
    expect(maskForms("plain").filter((f) => f === "plain")).toHaveLength(1);
  });

  it("covers overlapping and nested secrets completely, longest first", () => {
    expect(masker("abcdef", "defghi").mask("xx abcdefghi yy")).toBe("xx *** yy");
    expect(masker("defghi", "abcdef").mask("xx abcdefghi yy")).toBe("xx *** yy");
    expect(masker("abc", "abcdef").mask("abcdef abc abcde")).toBe("*** *** ***de");
    expect(masker("secret", "topsecretvalue").mask("a topsecretvalue b secret")).toBe("a *** b ***");
    expect(masker("aaaa").mask("aaaaaaa")).toBe("***");
    // Touching occurrences join into one mask.
    expect(masker("abcd", "efgh").mask("abcdefgh")).toBe("***");
    expect(masker("abcd").mask("abcd abcd")).toBe("*** ***");
  });

  it("masks a 48 KB secret and its base64 form, in one piece or streamed", () => {
    const big = randomBytes(36 * 1024).toString("base64");
    const m = masker(big, "small-secret-1");
    const log = `start\n${big}\nmiddle small-secret-1\n${Buffer.from(big).toString("base64")}\nend`;
    const want = "start\n***\nmiddle ***\n***\nend";
    expect(m.mask(log)).toBe(want);
    for (const size of [1000, 4096, 65536]) {
      const s = m.stream();
      const chunks: string[] = [];
      for (let i = 0; i < log.length; i += size) chunks.push(log.slice(i, i + size));
      expect(streamAll(s, chunks)).toBe(want);
    }
  });

  it("takes values added later into account", () => {
    const m = masker("first-secret");
    expect(m.mask("first-secret second-secret")).toBe("*** second-secret");
    m.add("second-secret");
    expect(m.mask("first-secret second-secret")).toBe("*** ***");
  });

  it("is fast: 1 MB of log with 50 secrets in well under 100 ms", () => {
    const secrets = Array.from({ length: 50 }, (_, i) => randomBytes(10 + i).toString("base64url"));
    const m = masker(...secrets);
    const words = "npm install build test PASS FAIL error warning at src/index.ts:12:5 node_modules 0.123s".split(" ");
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < 1_000_000; i++) {
      let line = `${i} `;
      for (let j = 0; j < 10; j++) line += `${words[(i * 7 + j * 13) % words.length]} `;
      if (i % 500 === 0) line += secrets[i % secrets.length];
      lines.push(line);
      size += line.length + 1;
    }
    const log = lines.join("\n");
    m.mask(log); // warm up (builds the regex, JIT)
    let best = Infinity;
    let out = "";
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      out = m.mask(log);
      best = Math.min(best, performance.now() - t0);
    }
    expect(best).toBeLessThan(100);
    expectNoSecretVisible(out, secrets);
    expect(out.split(MASK).length - 1).toBeGreaterThan(0);

    const t0 = performance.now();
    const s = m.stream();
    let streamed = "";
    for (let i = 0; i < log.length; i += 4096) streamed += s.write(log.slice(i, i + 4096));
    streamed += s.end();
    expect(performance.now() - t0).toBeLessThan(300);
    expect(streamed).toBe(out);
  });
});

describe("MaskStream", () => {
  const secrets = ["s3cr3t-v4lue", "v4lue-and-more", "🔑key-with-emoji🔑", "ab.c*"];
  const m = masker(...secrets);
  const b64 = Buffer.from("s3cr3t-v4lue").toString("base64");
  const text = `start s3cr3t-v4lue-and-more mid ab.c*ab.c* 🔑key-with-emoji🔑\n${b64} {"k":"s3cr3t-v4lue"} s3cr3t-v4lu end s3cr3t-v4lue`;
  const expected = m.mask(text);

  it("masks a secret split across two chunks at every position", () => {
    expectNoSecretVisible(expected, secrets);
    for (let i = 0; i <= text.length; i++) {
      const out = streamAll(m.stream(), [text.slice(0, i), text.slice(i)]);
      expect(out, `split at ${i}`).toBe(expected);
    }
  });

  it("masks a secret split across three chunks at every pair of positions", () => {
    const short = "x s3cr3t-v4lue-and-more ab.c*y";
    const want = m.mask(short);
    expect(want).toBe("x *** ***y");
    for (let i = 0; i <= short.length; i++) {
      for (let j = i; j <= short.length; j++) {
        expect(streamAll(m.stream(), [short.slice(0, i), short.slice(i, j), short.slice(j)]), `${i},${j}`).toBe(want);
      }
    }
  });

  it("masks a stream written one character at a time", () => {
    expect(streamAll(m.stream(), [...text.split("")])).toBe(expected);
  });

  it("emits text at once unless its tail could begin a secret", () => {
    const s = masker("abcdef").stream();
    expect(s.write("hello ")).toBe("hello ");
    expect(s.write("world ab")).toBe("world ");
    expect(s.write("c")).toBe("");
    expect(s.write("d!")).toBe("abcd!");
    expect(s.write("abcdef")).toBe("***");
    expect(s.write("ab")).toBe("");
    expect(s.end()).toBe("ab");
    expect(s.write("after end")).toBe("after end");
  });

  it("holds back a complete secret that may continue into a longer one", () => {
    const s = masker("abc", "abcdef").stream();
    expect(s.write("x abc")).toBe("x ");
    expect(s.write("def y")).toBe("*** y");
    expect(s.end()).toBe("");
  });

  it("keeps masking one secret while it continues over several chunks", () => {
    const s = masker("aaaa").stream();
    const out = streamAll(s, ["aaaaa", "aaaa", "aa", "b", "aaaa"]);
    expect(out).toBe(masker("aaaa").mask("aaaaaaaaaaabaaaa"));
    expect(out).toBe("***b***");
  });

  it("applies values added mid-stream to later chunks and to held-back text", () => {
    const mk = masker("zz-long-secret");
    const s = mk.stream();
    expect(s.write("early new-secret-1 ")).toBe("early new-secret-1 ");
    mk.add("new-secret-1");
    expect(s.write("later new-secret-1 zz-long")).toBe("later *** ");
    mk.add("zz-long"); // the held-back tail is now a secret itself
    expect(s.write(" tail")).toBe("*** tail");
    expect(s.end()).toBe("");
  });

  it("matches mask() on random text with many overlapping secrets (fuzz)", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = "ab\n";
    const word = (len: number) => Array.from({ length: len }, () => alphabet[rnd(2)]).join("");
    for (let round = 0; round < 300; round++) {
      const fuzzSecrets = Array.from({ length: 1 + rnd(4) }, () => word(2 + rnd(5)));
      const fm = masker(...fuzzSecrets);
      const input = Array.from({ length: 60 }, () => alphabet[rnd(3)]).join("");
      const want = fm.mask(input);
      expectNoSecretVisible(want, fuzzSecrets);
      const chunks: string[] = [];
      for (let i = 0; i < input.length; ) {
        const n = rnd(8);
        chunks.push(input.slice(i, i + n));
        i += n;
      }
      const got = streamAll(fm.stream(), chunks);
      if (got !== want) expect.fail(`stream ${JSON.stringify(got)} != mask ${JSON.stringify({ want, fuzzSecrets, input, chunks })}`);
    }
  });
});
