// Lists exports that no other file uses, so they can be deleted or un-exported. Usage:
//   bun scripts/dead-exports.ts [path prefix …]     (default: src scripts)
// Each export of a matching file is looked up with the TypeScript language service (findReferences, which sees
// through re-exports and namespace imports) over the whole project of tsconfig.json:
//   DEAD           referenced nowhere, not even in its own file: delete it;
//   OWN-FILE-ONLY  used only inside its own file: drop the `export` keyword;
//   TESTS-ONLY     used only by tests and not in its own file: code that exists for its tests.
// Exports used in their own file and by tests (pure logic exported to be unit-tested) are fine and not listed.
// A named re-export in a barrel (export { x } from "./x.ts") counts as a use: check barrels by hand.
import { join, relative } from "node:path";
import ts from "typescript";

const root = join(import.meta.dir, "..");
const prefixes = process.argv.length > 2 ? process.argv.slice(2) : ["src", "scripts"];

const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
const service = ts.createLanguageService({
  getScriptFileNames: () => parsed.fileNames,
  getScriptVersion: () => "1",
  getScriptSnapshot: (file) => {
    const text = ts.sys.readFile(file);
    return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
  },
  getCurrentDirectory: () => root,
  getCompilationSettings: () => parsed.options,
  getDefaultLibFileName: ts.getDefaultLibFilePath,
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
});
const program = service.getProgram();
if (!program) throw new Error("TypeScript could not build the program from tsconfig.json");
const checker = program.getTypeChecker();

const findings: string[] = [];
for (const sourceFile of program.getSourceFiles()) {
  const path = relative(root, sourceFile.fileName);
  if (path.startsWith("..") || path.startsWith("node_modules") || !prefixes.some((prefix) => path.startsWith(prefix))) continue;
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
  if (!moduleSymbol) continue;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const declaration = exported.declarations?.[0];
    if (!declaration || declaration.getSourceFile() !== sourceFile) continue; // re-exported from elsewhere
    const nameNode = ts.getNameOfDeclaration(declaration) ?? declaration;
    const references = (service.findReferences(sourceFile.fileName, nameNode.getStart()) ?? []).flatMap((symbol) => symbol.references);
    const otherFiles = new Set(
      references.filter((reference) => reference.fileName !== sourceFile.fileName).map((reference) => relative(root, reference.fileName)),
    );
    const usedInOwnFile = references.some((reference) => reference.fileName === sourceFile.fileName && !reference.isDefinition);
    const usedOutsideTests = [...otherFiles].some((file) => !file.startsWith("test/"));
    const line = sourceFile.getLineAndCharacterOfPosition(declaration.getStart()).line + 1;
    const where = `${path}:${line} ${exported.name}`;
    if (otherFiles.size === 0) findings.push(`${usedInOwnFile ? "OWN-FILE-ONLY" : "DEAD"} ${where}`);
    else if (!usedOutsideTests && !usedInOwnFile && !path.startsWith("test/")) findings.push(`TESTS-ONLY ${where} <- ${[...otherFiles].join(", ")}`);
  }
}
console.log(findings.sort().join("\n") || "no dead exports");
