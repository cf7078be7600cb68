--- Buffer-local keymaps, set where magray-lsp attaches (so they never shadow maps elsewhere).
local M = {}

local function maps(actions)
  return {
    explain = { modes = { "n", "x" }, rhs = function() actions.run("explain") end, desc = "magray: explain" },
    document = { modes = { "n" }, rhs = function() actions.run("document") end, desc = "magray: add docstring" },
    refactor = { modes = { "n", "x" }, rhs = function() actions.refactor() end, desc = "magray: refactor…" },
    usage = { modes = { "n" }, rhs = actions.usage, desc = "magray: usage this month" },
    toggle = { modes = { "n" }, rhs = require("magray.output").toggle, desc = "magray: toggle output" },
  }
end

--- Map `keymaps` (name -> lhs or false) in `buf`.
---@param buf integer
---@param keymaps table<string, string|false>
function M.apply(buf, keymaps)
  local defs = maps(require("magray.actions"))
  for name, lhs in pairs(keymaps) do
    local def = defs[name]
    if def == nil then
      vim.notify(("magray: unknown keymap `%s` (known: %s)"):format(name, table.concat(vim.tbl_keys(defs), ", ")), vim.log.levels.WARN)
    elseif lhs then
      vim.keymap.set(def.modes, lhs, def.rhs, { buffer = buf, desc = def.desc, silent = true })
    end
  end
end

return M
