-- User commands exist from startup; they work once require("magray").setup() has started the server.
if vim.g.loaded_magray then
  return
end
vim.g.loaded_magray = true

local function actions()
  return require("magray.actions")
end

vim.api.nvim_create_user_command("MagrayExplain", function(cmd)
  actions().run("explain", { line1 = cmd.line1, line2 = cmd.line2, range = cmd.range })
end, { range = true, desc = "magray: explain the code at the cursor or in the range" })

vim.api.nvim_create_user_command("MagrayDocument", function(cmd)
  actions().run("document", { line1 = cmd.line1, line2 = cmd.line2, range = cmd.range })
end, { range = true, desc = "magray: add a docstring to the function or class at the cursor" })

vim.api.nvim_create_user_command("MagrayRefactor", function(cmd)
  actions().run("refactor", { instruction = cmd.args, line1 = cmd.line1, line2 = cmd.line2, range = cmd.range })
end, { range = true, nargs = "*", desc = "magray: refactor the code at the cursor [instruction]" })

vim.api.nvim_create_user_command("Magray", function(cmd)
  local name = table.remove(cmd.fargs, 1)
  actions().run_named(name, {
    input = table.concat(cmd.fargs, " "),
    line1 = cmd.line1,
    line2 = cmd.line2,
    range = cmd.range,
  })
end, {
  range = true,
  nargs = "+",
  desc = "magray: run an action by name (fix, tests, a custom one, or explain/document/refactor) [input]",
  complete = function(arglead, cmdline)
    if cmdline:match("^%S*Magray%s+%S+%s") then
      return {} -- the input is free text
    end
    return vim.tbl_filter(function(name)
      return vim.startswith(name, arglead)
    end, actions().names())
  end,
})

vim.api.nvim_create_user_command("MagrayUsage", function()
  actions().usage()
end, { desc = "magray: spend this month, budget, per-model numbers" })

vim.api.nvim_create_user_command("MagrayDashboard", function()
  actions().dashboard()
end, { desc = "magray: open the usage dashboard in the browser" })

vim.api.nvim_create_user_command("MagrayClearCache", function()
  actions().clear_cache()
end, { desc = "magray: drop every cached answer" })

vim.api.nvim_create_user_command("MagrayCancel", function()
  actions().cancel()
end, { desc = "magray: cancel the requests in flight" })

vim.api.nvim_create_user_command("MagrayOutput", function()
  require("magray.output").toggle()
end, { desc = "magray: show or hide the last output" })
