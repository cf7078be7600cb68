-- Shared by the e2e scripts: read the params, capture vim.notify, wait with a timeout, and
-- write results.json (with the error, if the script failed) before quitting.
--   local h = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))
local M = { TIMEOUT = 60000 }

function M.start(params_file)
  M.params = vim.json.decode(table.concat(vim.fn.readfile(params_file), "\n"))
  M.results = { messages = {}, steps = {} }
  vim.notify = function(msg, level)
    table.insert(M.results.messages, { msg = tostring(msg), level = level })
  end
  return M.params, M.results
end

function M.wait(what, fn)
  local ok = vim.wait(M.TIMEOUT, fn, 20)
  table.insert(M.results.steps, { step = what, ok = ok })
  if not ok then
    error("timed out waiting for " .. what, 0)
  end
end

function M.buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

--- Run `main`, record its error if any, write the results and quit.
function M.run(main)
  local ok, err = xpcall(main, debug.traceback)
  if not ok then
    M.results.error = err
  end
  vim.fn.writefile({ vim.json.encode(M.results) }, M.params.out)
  vim.cmd("qa!")
end

return M
