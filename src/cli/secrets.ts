// `slipway secrets|vars set|list|rm NAME [--env ENV]`. Secret values come from
// standard input, never from the command line (which ends up in shell history).
import { SecretStore } from "../secrets/index.js";
import { dataDirFor, EXIT, readStdin, UsageError, withStore, workDir, type GlobalOptions } from "./common.js";
import { table } from "./style.js";

type Opts = GlobalOptions & { env?: string; json?: boolean };

function stripNewline(v: string): string {
  return v.endsWith("\r\n") ? v.slice(0, -2) : v.endsWith("\n") ? v.slice(0, -1) : v;
}

export async function secretsCommand(action: string, name: string | undefined, opts: Opts): Promise<number> {
  const dataDir = dataDirFor(opts, workDir(opts));
  const env = opts.env ?? "";
  if (action !== "list" && !name) throw new UsageError(`slipway secrets ${action} needs a NAME`);
  const value = action === "set" ? stripNewline(await readStdin()) : "";
  return withStore(dataDir, (store) => {
    const secrets = new SecretStore(store, dataDir);
    try {
      if (action === "set") {
        if (value === "") throw new UsageError(`no value on standard input for secret '${name}'; e.g. printf %s "$VALUE" | slipway secrets set ${name}`);
        secrets.set(name as string, value, env);
        process.stdout.write(`secret ${name!.toUpperCase()} saved${env ? ` for environment ${env}` : ""}\n`);
      } else if (action === "rm") {
        if (!secrets.remove(name as string, env)) throw new UsageError(`no secret '${name}'${env ? ` in environment ${env}` : ""}`);
        process.stdout.write(`secret ${name!.toUpperCase()} removed\n`);
      } else {
        const list = secrets.list(opts.env);
        if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
        else if (list.length === 0) process.stdout.write("no secrets\n");
        else process.stdout.write(table(["NAME", "ENVIRONMENT", "UPDATED"], list.map((s) => [s.name, s.environment || "(repository)", s.updatedAt])));
      }
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError((err as Error).message);
    }
    return EXIT.ok;
  });
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function varsCommand(action: string, name: string | undefined, opts: Opts): Promise<number> {
  const dataDir = dataDirFor(opts, workDir(opts));
  const env = opts.env ?? "";
  if (action !== "list" && !name) throw new UsageError(`slipway vars ${action} needs a NAME`);
  if (name && (!VAR_NAME.test(name) || /^GITHUB_/i.test(name))) {
    throw new UsageError(`invalid variable name '${name}': use letters, digits and _, not starting with a digit or GITHUB_`);
  }
  const value = action === "set" ? stripNewline(await readStdin()) : "";
  return withStore(dataDir, (store) => {
    if (action === "set") {
      store.putVariable(name!.toUpperCase(), env, value);
      process.stdout.write(`variable ${name!.toUpperCase()} saved\n`);
    } else if (action === "rm") {
      if (!store.deleteVariable(name!.toUpperCase(), env)) throw new UsageError(`no variable '${name}'`);
      process.stdout.write(`variable ${name!.toUpperCase()} removed\n`);
    } else {
      const list = store.listVariables(opts.env);
      if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
      else if (list.length === 0) process.stdout.write("no variables\n");
      else process.stdout.write(table(["NAME", "VALUE", "ENVIRONMENT"], list.map((v) => [v.name, v.value, v.environment || "(repository)"])));
    }
    return EXIT.ok;
  });
}
