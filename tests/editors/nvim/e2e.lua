-- Shared by the e2e_*.lua scripts (loaded with dofile): the parameters pytest passed, the
-- results table pytest asserts on, every message shown to the user, and waiting with a step log.
--   local e2e = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/e2e.lua")
--   local params, results = e2e.params, e2e.results
--   e2e.run(function() ... end)  -- writes results.json (with `error` on failure) and quits
local M = {}

M.TIMEOUT = 60000
M.params = vim.json.decode(table.concat(vim.fn.readfile(arg[1]), "\n"))
M.results = { messages = {}, steps = {} }

-- keep what the plugin and Neovim tell the user (errors from the server included)
vim.notify = function(msg, level)
  table.insert(M.results.messages, { msg = tostring(msg), level = level })
end

--- Wait up to `timeout` (default M.TIMEOUT) ms for `fn()`; the step is logged, a timeout raises.
function M.wait(what, fn, timeout)
  local ok = vim.wait(timeout or M.TIMEOUT, fn, 20)
  table.insert(M.results.steps, { step = what, ok = ok })
  if not ok then
    error("timed out waiting for " .. what, 0)
  end
end

function M.buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

--- Edit `path` as a Python buffer and wait until the magray client is attached and initialized.
---@return integer buf, table client
function M.open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = "python" -- -u NONE: no filetype detection, so set it as a plugin would
  M.wait("client attached to " .. vim.fs.basename(path), function()
    local client = vim.lsp.get_clients({ bufnr = buf, name = "magray" })[1]
    return client ~= nil and client.initialized == true
  end)
  return buf, vim.lsp.get_clients({ bufnr = buf, name = "magray" })[1]
end

--- How many messages shown so far contain `text`.
function M.messages_with(text)
  local n = 0
  for _, m in ipairs(M.results.messages) do
    if m.msg:find(text, 1, true) then
      n = n + 1
    end
  end
  return n
end

--- Run `main`, record its error if any, write the results for pytest and quit Neovim.
function M.run(main)
  local ok, err = xpcall(main, debug.traceback)
  if not ok then
    M.results.error = err
  end
  vim.fn.writefile({ vim.json.encode(M.results) }, M.params.out)
  vim.cmd("qa!")
end

return M
