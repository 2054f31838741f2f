/** `smapfill serve`: the local map viewer of a product. */
import { Command, Option } from "commander";
import { startServer } from "../../serve/server.js";
import { wholeNumber } from "../options.js";

export function serveCommand(): Command {
  return new Command("serve")
    .argument("<product>", "a product (the folder smapfill reconstruct --out wrote, or its product.zarr)")
    .description("a local map viewer of a product: day slider, layers, a pixel's time series, station metrics (Ctrl-C stops it)")
    .option("--evaluation <dir>", "an evaluation folder whose stations (metrics, in-situ series) the viewer shows")
    .option("--ismn <path>", "or an ISMN download (folder, zip or file): its stations in the product, scored against it (flag G, top 6 cm)")
    .addOption(new Option("--port <n>", "the port (0: any free one)").argParser(wholeNumber(0, 65535)).default(8731))
    .addOption(
      new Option(
        "--host <address>",
        "the address to bind: 127.0.0.1 (this machine only); any other (0.0.0.0: every interface) opens the viewer to other machines, without a password",
      ).default("127.0.0.1"),
    )
    .option(
      "--allow-host <names>",
      "comma list of host names the viewer answers to besides IP addresses, localhost, --host and this machine's name (e.g. a reverse proxy's; .example.org: every name under it)",
      (v: string) =>
        v
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
    )
    .action(async (product: string, o: { evaluation?: string; ismn?: string; port: number; host: string; allowHost?: string[] }) => {
      const server = await startServer({ product, evaluation: o.evaluation, ismn: o.ismn, port: o.port, host: o.host, allowHosts: o.allowHost });
      process.stdout.write(`smapfill viewer on ${server.url} (Ctrl-C stops it)\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
