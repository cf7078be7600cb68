--- Starting magray-lsp and talking to it: `vim.lsp.config`/`vim.lsp.enable` on Neovim 0.11+,
--- `vim.lsp.start` from a FileType autocmd on 0.10.
local output = require("magray.output")
local status = require("magray.status")

local M = {}

M.name = "magray"

local has_011 = vim.fn.has("nvim-0.11") == 1

--- The executable named by `cmd` (nil when cmd is a function).
---@param cmd string[]|function
function M.executable(cmd)
  if type(cmd) == "table" then
    return cmd[1]
  end
  return nil
end

--- Why `cmd` cannot start, or nil when it looks fine.
---@param cmd string[]|function
---@return string|nil
function M.missing_executable(cmd)
  local exe = M.executable(cmd)
  if exe == nil or vim.fn.executable(exe) == 1 then
    return nil
  end
  return ("magray: `%s` is not executable (not on $PATH?). Install the server with "
    .. "`pipx install magray-lsp` (or `pip install magray-lsp` in a venv), or point "
    .. "require('magray').setup{ cmd = { '/path/to/magray-lsp', 'serve' } } at it."):format(exe)
end

local LEVELS = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }

--- The server's messages ("magray: cleared 3 cached answers", errors, budget warnings) go through
--- vim.notify, so notification plugins show them like every other message.
local function show_message(_, params, _)
  if type(params) == "table" and type(params.message) == "string" then
    vim.notify(params.message, LEVELS[params.type] or vim.log.levels.INFO, { title = "magray" })
  end
end

local function handlers()
  return {
    ["magray/status"] = status.on_status,
    ["magray/stream"] = output.on_stream,
    ["window/showDocument"] = output.on_show_document,
    ["window/showMessage"] = show_message,
    -- an action with {input} asks for it (a server request: the answer is the response)
    ["magray/input"] = function(...)
      return require("magray.actions").on_input(...)
    end,
  }
end

--- The client config shared by both start paths.
---@param cfg magray.Options
function M.client_config(cfg)
  local config = {
    name = cfg.name,
    cmd = cfg.cmd,
    filetypes = cfg.filetypes,
    root_markers = cfg.root_markers,
    handlers = handlers(),
  }
  if next(cfg.settings) ~= nil then
    -- Sent once, as initializationOptions (the server reads section `magray` there). Not as
    -- `settings` too: Neovim would follow up with workspace/didChangeConfiguration and the
    -- server would rebuild its workspace right after starting, for nothing.
    config.init_options = { magray = cfg.settings }
  end
  return vim.tbl_deep_extend("force", config, cfg.lsp)
end

local augroup = vim.api.nvim_create_augroup("magray.lsp", { clear = true })

--- Start (or, on 0.11, enable) the client for the configured filetypes.
---@param cfg magray.Options
function M.enable(cfg)
  M.name = cfg.name
  local config = M.client_config(cfg)
  vim.api.nvim_clear_autocmds({ group = augroup })
  if has_011 then
    -- assignment replaces an earlier setup() (calling vim.lsp.config() would merge into it);
    -- (vim.lsp.config('*', ...) and lsp/magray.lua files on 'runtimepath' still merge underneath)
    vim.lsp.config[cfg.name] = config
    vim.lsp.enable(cfg.name)
    return
  end
  -- 0.10: vim.lsp.start reuses a running client with the same name and root
  vim.api.nvim_create_autocmd("FileType", {
    group = augroup,
    pattern = cfg.filetypes,
    callback = function(args)
      M.start_010(args.buf, config)
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(cfg.filetypes, vim.bo[buf].filetype) then
      M.start_010(buf, config)
    end
  end
end

function M.start_010(buf, config)
  if vim.bo[buf].buftype ~= "" then
    return
  end
  local start = vim.deepcopy(config)
  local fname = vim.api.nvim_buf_get_name(buf)
  start.root_dir = vim.fs.root(buf, config.root_markers) or (fname ~= "" and vim.fs.dirname(fname)) or vim.uv.cwd()
  start.root_markers, start.filetypes = nil, nil
  vim.lsp.start(start, { bufnr = buf })
end

--- Progress of our requests feeds the status line (Neovim stores `$/progress` itself).
vim.api.nvim_create_autocmd("LspProgress", {
  group = vim.api.nvim_create_augroup("magray.progress", { clear = true }),
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if client and client.name == M.name then
      status.on_progress(args.data.params)
    end
  end,
})

--- The magray client attached to `buf` (default: current buffer), or any running one.
---@param buf integer|nil
---@return vim.lsp.Client|nil
function M.get(buf)
  local clients = vim.lsp.get_clients({ name = M.name, bufnr = buf or vim.api.nvim_get_current_buf() })
  return clients[1]
end

function M.any()
  return vim.lsp.get_clients({ name = M.name })[1]
end

--- `client:request` on 0.11 (method call), `client.request` on 0.10.
function M.request(client, method, params, handler, buf)
  if has_011 then
    return client:request(method, params, handler, buf)
  end
  return client.request(method, params, handler, buf)
end

--- `client:request_sync` on 0.11, `client.request_sync` on 0.10: {result, err} or nil.
function M.request_sync(client, method, params, timeout_ms, buf)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, buf)
  end
  return client.request_sync(method, params, timeout_ms, buf)
end

function M.cancel(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

return M
