// The DuckDB side of bench/ingest: DuckDB's plain load of a CSV into a new
// database file (read_csv with its type detection, 2 threads), through its
// Node package (@duckdb/node-api, installed by bench/ingest into bench/out;
// never a dependency of segue). Prints one JSON line: rows and seconds
// (create + load + checkpoint, after the module is imported).
//
//   node bench/ingest_duckdb.mjs NODE_MODULES_DIR DB_FILE CSV...
import { createRequire } from "node:module";
import { rmSync } from "node:fs";
import path from "node:path";

const [modules, db, ...files] = process.argv.slice(2);
const require = createRequire(path.resolve(modules, "x.js"));
const { DuckDBInstance } = require("@duckdb/node-api");

rmSync(db, { force: true });
rmSync(db + ".wal", { force: true });
const quoted = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ");
const t0 = process.hrtime.bigint();
const instance = await DuckDBInstance.create(db, { threads: "2" });
const con = await instance.connect();
await con.run(`CREATE TABLE tracks AS SELECT * FROM read_csv([${quoted}], header = true)`);
await con.run("CHECKPOINT");
const rows = Number((await con.runAndReadAll("SELECT count(*) FROM tracks")).getRows()[0][0]);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
con.closeSync();
instance.closeSync();
console.log(JSON.stringify({ rows, seconds }));
