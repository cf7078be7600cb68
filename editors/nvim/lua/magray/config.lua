--- Options of require("magray").setup(), their defaults, and checks that name the bad key.
local M = {}

--- Filetypes the server parses with tree-sitter (others still get explain/refactor on a selection).
M.FILETYPES = {
  "python",
  "javascript",
  "javascriptreact",
  "typescript",
  "typescriptreact",
  "rust",
  "go",
  "java",
  "c",
  "cpp",
  "cuda",
  "ruby",
  "lua",
}

--- Suggested keymaps (buffer-local, only where magray-lsp is attached).
M.KEYMAPS = {
  explain = "<leader>me",
  document = "<leader>md",
  refactor = "<leader>mr",
  usage = "<leader>mu",
  toggle = "<leader>mo",
}

---@class magray.Options
M.defaults = {
  --- How to start the server. A list (argv) or a function, as in `vim.lsp.ClientConfig.cmd`.
  cmd = { "magray-lsp", "serve" },
  --- Client name, as shown by :checkhealth vim.lsp and :LspInfo.
  name = "magray",
  filetypes = M.FILETYPES,
  --- Files that mark a workspace root, nearest first.
  root_markers = { ".magray.toml", ".git" },
  --- Section `magray` of workspace/configuration (overrides .magray.toml per key), e.g.
  --- { routing = { default = "openai.code" }, budget = { monthly_usd = 20 } }.
  settings = {},
  --- true: the suggested maps in M.KEYMAPS; a table overrides single maps (false drops one);
  --- false: no maps.
  keymaps = false,
  --- The window that shows streamed output and explanations.
  output = {
    style = "float", -- "float" | "split" | "vsplit"
    --- Fraction of the editor (< 1) or columns/lines (>= 1).
    width = 0.45,
    height = 0.6,
    border = "rounded",
    --- Actions whose streamed text opens the window (document/refactor end as an edit anyway).
    stream = { "explain" },
    --- Show the server's explanation and usage documents here instead of opening the file.
    documents = true,
    --- Move the cursor into the window when it opens.
    focus = false,
  },
  status = {
    --- function(payload, state) -> string; replaces the default line.
    format = nil,
    --- Shown while a request runs, before the action name.
    busy = "⋯",
  },
  --- Extra fields for the client config (capabilities, on_attach, ...), merged last.
  lsp = {},
}

local function is_list_of_strings(v)
  if type(v) ~= "table" then
    return false
  end
  for _, item in ipairs(v) do
    if type(item) ~= "string" then
      return false
    end
  end
  return true
end

--- Merge user options over the defaults and check them; errors name the key.
---@param opts table|nil
---@return magray.Options
function M.resolve(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("magray.setup: expected a table of options, got " .. type(opts), 0)
  end
  local cfg = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- lists replace, they never merge element-wise
  for _, key in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if opts[key] ~= nil then
      cfg[key] = opts[key]
    end
  end
  if opts.output and opts.output.stream ~= nil then
    cfg.output.stream = opts.output.stream
  end

  local function check(name, ok, expected)
    if not ok then
      error(("magray.setup: option `%s` must be %s"):format(name, expected), 0)
    end
  end
  check("cmd", type(cfg.cmd) == "function" or (is_list_of_strings(cfg.cmd) and #cfg.cmd > 0), "a non-empty list of strings or a function")
  check("filetypes", is_list_of_strings(cfg.filetypes), "a list of filetypes")
  check("root_markers", is_list_of_strings(cfg.root_markers), "a list of file names")
  check("settings", type(cfg.settings) == "table", "a table")
  check("keymaps", type(cfg.keymaps) == "boolean" or type(cfg.keymaps) == "table", "true, false or a table")
  check("output.style", vim.tbl_contains({ "float", "split", "vsplit" }, cfg.output.style), '"float", "split" or "vsplit"')
  check("output.width", type(cfg.output.width) == "number" and cfg.output.width > 0, "a positive number")
  check("output.height", type(cfg.output.height) == "number" and cfg.output.height > 0, "a positive number")
  check("output.stream", is_list_of_strings(cfg.output.stream), "a list of action names")
  check("status.format", cfg.status.format == nil or type(cfg.status.format) == "function", "a function")
  check("lsp", type(cfg.lsp) == "table", "a table")

  if cfg.keymaps == true then
    cfg.keymaps = vim.deepcopy(M.KEYMAPS)
  elseif type(cfg.keymaps) == "table" then
    cfg.keymaps = vim.tbl_extend("force", vim.deepcopy(M.KEYMAPS), cfg.keymaps)
  end
  return cfg
end

return M
