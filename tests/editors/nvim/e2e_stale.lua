-- Driven by tests/editors/test_nvim.py: typing while the model answers, in real Neovim.
-- Each step starts an action on one function, waits until the slow fake's answer is streaming,
-- types into the buffer with nvim_buf_set_lines (above, inside or below that function), and
-- records the buffer once the action ended: the edit applied where it belongs, or refused.
-- params: { cmd = argv, file = path, crlf_file = path, out = results.json }
local e2e = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/e2e.lua")
local params, results, wait, buffer_text = e2e.params, e2e.results, e2e.wait, e2e.buffer_text
local TIMEOUT = 90000 -- slow answers on a loaded machine

-- Neovim reports an edit for another version with print(); keep that too
local print_orig = print
print = function(...) -- luacheck: ignore
  table.insert(results.messages, { msg = table.concat(vim.tbl_map(tostring, { ... }), " "), level = -1 })
  return print_orig(...)
end

local function row_of(buf, needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if line:find(needle, 1, true) then
      return i - 1
    end
  end
  error("no line with " .. needle, 0)
end

local message_count = e2e.messages_with

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
  end, TIMEOUT)
  typing()
  wait(name .. ": action ended", function()
    return statuses > 0 and done()
  end, TIMEOUT)
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
  local buf, client = e2e.open(params.file)
  results.offset_encoding = client.offset_encoding

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
  local crlf = e2e.open(params.crlf_file)
  results.fileformat = vim.bo[crlf].fileformat
  vim.api.nvim_win_set_cursor(0, { row_of(crlf, "return line.strip()") + 1, 8 })
  while_answering("CRLF, typed above", document_via_menu, function()
    vim.api.nvim_buf_set_lines(crlf, 0, 0, false, { "import os  # 😀", "import re" })
  end, function()
    return buffer_text(crlf):find(params.docs[5], 1, true) ~= nil
  end)
  vim.cmd("write")
end

e2e.run(main)
