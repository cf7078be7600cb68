-- Driven by tests/editors/test_nvim.py: defined actions in real Neovim + editors/nvim + the real
-- magray-lsp. A custom action committed as .magray/actions/simplify.md runs from the code-action
-- menu (filtered by kind, applied); Fix runs on a linter's diagnostic with :Magray fix; an
-- action with {input} is answered through vim.ui.input; :Magray completes the action names.
-- params: { cmd = argv, file = path, out = results.json }
local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
local h = dofile(vim.fs.joinpath(here, "harness.lua"))
local params, results = h.start(arg[1])
local wait, buffer_text = h.wait, h.buffer_text

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

  -- :Magray completes the names the server defines for this buffer
  results.completion = vim.fn.getcompletion("Magray ", "cmdline")
  results.completion_s = vim.fn.getcompletion("Magray s", "cmdline")

  -- 1. the committed prompt file's action, from the code-action menu, applied
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  local offered = {}
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      table.insert(offered, { title = action.title, kind = action.kind })
      return action.kind == "refactor.rewrite.magray.simplify"
    end,
  })
  wait("simplified buffer", function()
    return buffer_text(buf):find("casefold", 1, true) ~= nil
  end)
  wait("status after simplify", function()
    return (magray.last_status() or {}).action == "simplify"
  end)
  results.offered = offered
  results.simplify = { buffer = buffer_text(buf), status = magray.last_status() }

  -- 2. a linter's diagnostic (not a language server's: Neovim would not send it to magray),
  --    fixed with :Magray fix on its line
  local ns = vim.api.nvim_create_namespace("fake-linter")
  vim.diagnostic.set(ns, buf, {
    { lnum = 5, col = 11, end_col = 15, severity = vim.diagnostic.severity.ERROR,
      message = "`nme` is not defined", source = "pyflakes", code = "F821" },
  })
  vim.api.nvim_win_set_cursor(0, { 6, 4 })
  vim.cmd("Magray fix")
  wait("fixed buffer", function()
    return buffer_text(buf):find('value.strip(" \\t")', 1, true) ~= nil
  end)
  wait("status after fix", function()
    return (magray.last_status() or {}).action == "fix"
  end)
  results.fix = { buffer = buffer_text(buf), modified = vim.bo[buf].modified }

  -- 3. an action with {input}: the server asks, vim.ui.input answers (asynchronously, like
  --    dressing.nvim or snacks would)
  local asked = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(asked, opts.prompt)
    vim.defer_fn(function()
      on_confirm("make it shout")
    end, 50)
  end
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  vim.cmd("Magray shout")
  wait("shouted buffer", function()
    return buffer_text(buf):find(".upper()", 1, true) ~= nil
  end)
  results.shout = { asked = asked, buffer = buffer_text(buf) }
end

h.run(main)
