// Starts `weft lsp` (the path is the `weft.server.path` setting) as the
// language server for .weft files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("weft").get("server.path", "weft");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "weft",
    "Weft language server",
    { run: server, debug: server },
    { documentSelector: [{ language: "weft" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
