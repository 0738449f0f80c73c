import { program } from "commander";

program.name("slipway").description("Run GitHub Actions workflows and deliver releases safely").version("0.1.0");
await program.parseAsync(process.argv);
