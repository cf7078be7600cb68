-- Driven by tests/editors/test_nvim.py: typing while the model answers, in real Neovim.
-- Each step starts an action on one function, waits until the slow fake's answer is streaming,
-- types into the buffer with nvim_buf_set_lines (above, inside or below that function), and
-- records the buffer once the action ended: the edit applied where it belongs, or refused.
-- params: { cmd = argv, file = path, crlf_file = path, out = results.json }
local params = vim.json.decode(table.concat(vim.fn.readfile(arg[1]), "\n"))
local results = { messages = {}, steps = {} }
local TIMEOUT = 90000

local function write_results()
  vim.fn.writefile({ vim.json.encode(results) }, params.out)
end

vim.notify = function(msg, level)
  table.insert(results.messages, { msg = tostring(msg), level = level })
end
-- Neovim reports an edit for another version with print(); keep that too
local print_orig = print
print = function(...) -- luacheck: ignore
  table.insert(results.messages, { msg = table.concat(vim.tbl_map(tostring, { ... }), " "), level = -1 })
  return print_orig(...)
end

local function wait(what, fn)
  local ok = vim.wait(TIMEOUT, fn, 20)
  table.insert(results.steps, { step = what, ok = ok })
  if not ok then
    error("timed out waiting for " .. what, 0)
  end
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

local function row_of(buf, needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if line:find(needle, 1, true) then
      return i - 1
    end
  end
  error("no line with " .. needle, 0)
end

local function message_count(pattern)
  local n = 0
  for _, m in ipairs(results.messages) do
    if m.msg:find(pattern, 1, true) then
      n = n + 1
    end
  end
  return n
end

local output = require("magray.output")
local deltas = 0
local on_stream = output.on_stream
output.on_stream = function(err, p, ctx) -- count deltas; the plugin still renders them
  if type(p) == "table" and not p.done then
    deltas = deltas + 1
  end
  return on_stream(err, p, ctx)
end

local STALE = "changed while the model was answering"

--- Start `start()`, wait for the answer to stream, run `typing()`, then wait for `done()`.
local function while_answering(name, start, typing, done)
  local before = deltas
  local statuses = 0
  local id = vim.api.nvim_create_autocmd("User", {
    pattern = "MagrayStatus",
    callback = function()
      statuses = statuses + 1
    end,
  })
  start()
  wait(name .. ": answer streaming", function()
    return deltas > before
  end)
  typing()
  wait(name .. ": action ended", function()
    return statuses > 0 and done()
  end)
  vim.api.nvim_del_autocmd(id)
end

local function document_via_menu()
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.kind == "refactor.rewrite.magray.document"
    end,
  })
end

local function main()
  local magray = require("magray")
  results.setup = magray.setup({ cmd = params.cmd })
  vim.cmd.edit(vim.fn.fnameescape(params.file))
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = "python"
  wait("client attached", function()
    local client = vim.lsp.get_clients({ bufnr = buf, name = "magray" })[1]
    return client ~= nil and client.initialized == true
  end)
  results.offset_encoding = vim.lsp.get_clients({ bufnr = buf, name = "magray" })[1].offset_encoding

  -- 1. the menu (codeAction/resolve) on `first`; three lines typed at the top meanwhile
  vim.api.nvim_win_set_cursor(0, { row_of(buf, "return line.strip()") + 1, 8 })
  while_answering("resolve, typed above", document_via_menu, function()
    for i, line in ipairs({ "import os", "import re  # 🎉 三", "LIMIT = 3" }) do
      vim.api.nvim_buf_set_lines(buf, i - 1, i - 1, false, { line })
      vim.wait(150)
    end
  end, function()
    return buffer_text(buf):find(params.docs[1], 1, true) ~= nil
  end)
  results.above = buffer_text(buf)

  -- 2. the menu on `second`; its body edited meanwhile: refused with a message
  local shown = message_count(STALE)
  vim.api.nvim_win_set_cursor(0, { row_of(buf, "return line.lower()") + 1, 8 })
  while_answering("resolve, typed inside", document_via_menu, function()
    local row = row_of(buf, "return line.lower()")
    vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "    return line.lower().strip()  # 二" })
  end, function()
    return message_count(STALE) > shown
  end)
  vim.wait(500) -- an edit arriving late would land now
  results.inside = buffer_text(buf)

  -- 3. :MagrayDocument (workspace/applyEdit) on `third`; a function typed below meanwhile
  vim.api.nvim_win_set_cursor(0, { row_of(buf, "return line.upper()") + 1, 8 })
  while_answering("command, typed below", function()
    vim.cmd("MagrayDocument")
  end, function()
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, { "", "", "def tail() -> str:" })
    vim.wait(150)
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, { "    return '尾 🎉'" })
  end, function()
    return buffer_text(buf):find(params.docs[3], 1, true) ~= nil
  end)
  results.below = buffer_text(buf)

  -- 4. :MagrayDocument on `fourth`; a line inserted in its body meanwhile: refused
  shown = message_count(STALE)
  vim.api.nvim_win_set_cursor(0, { row_of(buf, "return line.title()") + 1, 8 })
  while_answering("command, typed inside", function()
    vim.cmd("MagrayDocument")
  end, function()
    local row = row_of(buf, "return line.title()")
    vim.api.nvim_buf_set_lines(buf, row, row, false, { "    line = line or ''  # 四" })
  end, function()
    return message_count(STALE) > shown
  end)
  vim.wait(500)
  results.command_inside = buffer_text(buf)
  vim.cmd("write")

  -- 5. a CRLF file (fileformat=dos): the menu on `first`, lines typed at the top meanwhile
  vim.cmd.edit(vim.fn.fnameescape(params.crlf_file))
  local crlf = vim.api.nvim_get_current_buf()
  vim.bo[crlf].filetype = "python"
  results.fileformat = vim.bo[crlf].fileformat
  wait("client attached to the CRLF file", function()
    return vim.lsp.get_clients({ bufnr = crlf, name = "magray" })[1] ~= nil
  end)
  vim.api.nvim_win_set_cursor(0, { row_of(crlf, "return line.strip()") + 1, 8 })
  while_answering("CRLF, typed above", document_via_menu, function()
    vim.api.nvim_buf_set_lines(crlf, 0, 0, false, { "import os  # 😀", "import re" })
  end, function()
    return buffer_text(crlf):find(params.docs[5], 1, true) ~= nil
  end)
  vim.cmd("write")
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  results.error = err
end
write_results()
vim.cmd("qa!")
