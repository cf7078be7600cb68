--- Running explain / document / refactor on the cursor, a line range or a visual selection,
--- through the server's `magray.*` commands (the code-action menu works too: they are listed as
--- `refactor.magray.explain`, `refactor.rewrite.magray.document`, `refactor.rewrite.magray.refactor`).
local client_mod = require("magray.client")

local M = {}

M.KINDS = {
  explain = "refactor.magray.explain",
  document = "refactor.rewrite.magray.document",
  refactor = "refactor.rewrite.magray.refactor",
}

--- requests in flight: "client_id:request_id" -> { client, id, action }
M.inflight = {}

local function notify(msg, level)
  vim.notify("magray: " .. msg, level or vim.log.levels.INFO)
end

--- Character index of byte `col` in `line` for the client's encoding (0.10 and 0.11 APIs differ).
local function character(line, col, encoding)
  if encoding == "utf-8" or col == 0 then
    return col
  end
  if vim.fn.has("nvim-0.11") == 1 then
    return vim.str_utfindex(line, encoding, col, false)
  end
  local utf32, utf16 = vim.str_utfindex(line, col)
  return encoding == "utf-32" and utf32 or utf16
end

--- An LSP position for (0-based row, byte col) in `buf`.
local function position(buf, row, col, encoding)
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
  return { line = row, character = character(line, math.min(col, #line), encoding) }
end

local function line_end(buf, row)
  return #(vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or "")
end

--- The range an action works on: a visual selection, a `:{range}` of lines, or the cursor.
---@param buf integer
---@param encoding string the client's offset encoding
---@param opts {line1?: integer, line2?: integer, range?: integer}|nil
---@return table lsp.Range
function M.target_range(buf, encoding, opts)
  opts = opts or {}
  local mode = vim.api.nvim_get_mode().mode
  if mode == "v" or mode == "V" or mode == "\22" then
    local a, b = vim.fn.getpos("v"), vim.fn.getpos(".")
    if a[2] > b[2] or (a[2] == b[2] and a[3] > b[3]) then
      a, b = b, a
    end
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<Esc>", true, false, true), "nx", false)
    local srow, erow = a[2] - 1, b[2] - 1
    if mode == "V" then
      return { start = position(buf, srow, 0, encoding), ["end"] = position(buf, erow, line_end(buf, erow), encoding) }
    end
    -- the selection includes the whole last character (which may be several bytes)
    local last = vim.api.nvim_buf_get_lines(buf, erow, erow + 1, false)[1] or ""
    local stop = b[3] <= #last and b[3] + vim.str_utf_end(last, b[3]) or #last
    return { start = position(buf, srow, a[3] - 1, encoding), ["end"] = position(buf, erow, stop, encoding) }
  end
  if opts.range and opts.range > 0 and opts.line1 and opts.line2 then
    local srow, erow = opts.line1 - 1, opts.line2 - 1
    return { start = position(buf, srow, 0, encoding), ["end"] = position(buf, erow, line_end(buf, erow), encoding) }
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  local here = position(buf, cursor[1] - 1, cursor[2], encoding)
  return { start = here, ["end"] = here }
end

--- The magray client of the current buffer, or nil after telling the user why there is none.
function M.client(buf)
  local client = client_mod.get(buf)
  if client then
    return client
  end
  if client_mod.any() then
    notify("magray-lsp is not attached to this buffer (is its filetype in `filetypes`?)", vim.log.levels.WARN)
  else
    notify("magray-lsp is not running; call require('magray').setup() and see :checkhealth magray", vim.log.levels.WARN)
  end
  return nil
end

--- Send `workspace/executeCommand` for `command`; `on_result(result)` on success.
function M.execute(client, command, arguments, buf, on_result)
  local label = command:gsub("^magray%.", "")
  local key
  local ok, id = client_mod.request(client, "workspace/executeCommand", { command = command, arguments = arguments }, function(err, result)
    if key then
      M.inflight[key] = nil
    end
    if err then
      if err.code ~= -32800 then -- RequestCancelled: the user asked for it
        notify(label .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end
      return
    end
    if on_result then
      on_result(result)
    end
  end, buf)
  if not ok then
    notify(label .. ": the server is not running", vim.log.levels.ERROR)
    return nil
  end
  key = client.id .. ":" .. tostring(id)
  M.inflight[key] = { client = client, id = id, action = label }
  return id
end

--- Run `action` ("explain" | "document" | "refactor") on the current buffer.
---@param action string
---@param opts {instruction?: string, line1?: integer, line2?: integer, range?: integer}|nil
function M.run(action, opts)
  opts = opts or {}
  local buf = vim.api.nvim_get_current_buf()
  local client = M.client(buf)
  if not client then
    return nil
  end
  local args = {
    uri = vim.uri_from_bufnr(buf),
    range = opts.lsp_range or M.target_range(buf, client.offset_encoding or "utf-16", opts),
  }
  if opts.instruction and opts.instruction ~= "" then
    args.instruction = opts.instruction
  end
  return M.execute(client, "magray." .. action, { args }, buf, function(result)
    if type(result) == "table" and result.ok == false then
      return -- the server has already shown the error with window/showMessage
    end
    if action ~= "explain" and type(result) == "table" and result.edits == 0 then
      notify(action .. ": the model proposed no change")
    end
  end)
end

--- Diagnostics of every source (linters, other language servers) on rows `first`..`last` of
--- `buf`, as LSP diagnostics: what Fix sends to the model. (Neovim's own code-action request
--- only carries each server's own diagnostics, so magray would never see a linter's.)
function M.diagnostics(buf, first, last)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.lnum >= first and d.lnum <= last then
      local lsp_d = d.user_data and d.user_data.lsp
      table.insert(out, lsp_d or {
        range = {
          start = { line = d.lnum, character = d.col or 0 },
          ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col or 0 },
        },
        severity = d.severity,
        message = d.message,
        source = d.source,
        code = d.code,
      })
    end
  end
  return out
end

M.BUILTIN = { explain = true, document = true, refactor = true }

--- Run the action `name` — a built-in, "fix", "tests" or a custom action of the workspace —
--- on the cursor, a line range or the visual selection. `opts.input` is its {input} (for
--- refactor: the instruction); without it, an action that needs input asks (magray/input).
---@param name string
---@param opts {input?: string, line1?: integer, line2?: integer, range?: integer}|nil
function M.run_named(name, opts)
  opts = opts or {}
  if M.BUILTIN[name] then
    if name == "refactor" then
      return M.refactor(opts.input, opts)
    end
    return M.run(name, opts)
  end
  local buf = vim.api.nvim_get_current_buf()
  local client = M.client(buf)
  if not client then
    return nil
  end
  local range = opts.lsp_range or M.target_range(buf, client.offset_encoding or "utf-16", opts)
  local args = {
    action = name,
    uri = vim.uri_from_bufnr(buf),
    range = range,
    diagnostics = M.diagnostics(buf, range.start.line, range["end"].line),
  }
  if opts.input and opts.input ~= "" then
    args.input = opts.input
  end
  return M.execute(client, "magray.run", { args }, buf, function(result)
    if type(result) ~= "table" or result.ok == false then
      return -- cancelled, or the server has already shown the error
    end
    if result.edits == 0 then
      notify(name .. ": the model proposed no change")
    elseif result.file then
      notify(("%s: %s %s"):format(name, result.created and "created" or "appended to", vim.fn.fnamemodify(result.file, ":~:.")))
    end
  end)
end

--- Action names for `:Magray` completion: the built-ins, then what the server defines for
--- `buf`'s workspace and language (custom actions, fix, tests).
function M.names(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local names = { "explain", "document", "refactor" }
  local client = client_mod.get(buf)
  if not client then
    return names
  end
  local response = client_mod.request_sync(client, "workspace/executeCommand", {
    command = "magray.listActions",
    arguments = { { uri = vim.uri_from_bufnr(buf) } },
  }, 2000, buf)
  for _, action in ipairs(response and response.result or {}) do
    if type(action) == "table" and type(action.name) == "string" then
      table.insert(names, action.name)
    end
  end
  return names
end

--- `magray/input` (server → client request): ask with vim.ui.input. The handler runs in a
--- coroutine, so an asynchronous vim.ui.input (dressing, snacks…) works as well as the
--- built-in one. Dismissed: null, and the server drops the action.
function M.on_input(_, params)
  params = type(params) == "table" and params or {}
  local co = coroutine.running()
  local answer, done = nil, false
  vim.ui.input({ prompt = (params.prompt or "magray") .. ": " }, function(value)
    answer, done = value, true
    if co and coroutine.status(co) == "suspended" then
      coroutine.resume(co)
    end
  end)
  if not done and co then
    coroutine.yield()
  end
  if answer == nil then
    return vim.NIL
  end
  return answer
end

--- Refactor with an instruction; asks for one when `instruction` is nil.
function M.refactor(instruction, opts)
  opts = vim.deepcopy(opts or {})
  if instruction ~= nil then
    opts.instruction = instruction
    return M.run("refactor", opts)
  end
  local mode = vim.api.nvim_get_mode().mode
  if mode == "v" or mode == "V" or mode == "\22" then
    -- capture the selection now: the prompt leaves visual mode
    local buf = vim.api.nvim_get_current_buf()
    local client = M.client(buf)
    if not client then
      return nil
    end
    opts.lsp_range = M.target_range(buf, client.offset_encoding or "utf-16", opts)
  end
  vim.ui.input({ prompt = "magray refactor (empty: general cleanup): " }, function(input)
    if input ~= nil then -- nil: cancelled
      opts.instruction = input
      M.run("refactor", opts)
    end
  end)
end

--- Show spend this month against the budget and per-model numbers.
function M.usage()
  local client = client_mod.get() or client_mod.any()
  if not client then
    notify("magray-lsp is not running", vim.log.levels.WARN)
    return nil
  end
  return M.execute(client, "magray.showUsage", {}, nil)
end

--- Open the usage dashboard: the server serves it on a loopback port and asks to open it.
function M.dashboard()
  local client = client_mod.get() or client_mod.any()
  if not client then
    notify("magray-lsp is not running", vim.log.levels.WARN)
    return nil
  end
  return M.execute(client, "magray.showUsage", { { dashboard = true } }, nil)
end

--- Drop every cached answer.
function M.clear_cache()
  local client = client_mod.get() or client_mod.any()
  if not client then
    notify("magray-lsp is not running", vim.log.levels.WARN)
    return nil
  end
  return M.execute(client, "magray.clearCache", {}, nil)
end

--- Cancel every request this plugin has in flight (the server stops the provider stream).
function M.cancel()
  local n = 0
  for key, entry in pairs(M.inflight) do
    client_mod.cancel(entry.client, entry.id)
    M.inflight[key] = nil
    n = n + 1
  end
  notify(n == 0 and "nothing to cancel" or ("cancelled %d request%s"):format(n, n == 1 and "" or "s"))
end

return M
