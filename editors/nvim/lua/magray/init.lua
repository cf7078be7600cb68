--- magray.nvim: code actions (explain / document / refactor) routed to LLM providers by the
--- magray-lsp language server, a statusline cost component and a live output window.
---
---   require("magray").setup({ keymaps = true })
---   vim.o.statusline = "%f %= %{v:lua.require'magray'.status()}"
local config = require("magray.config")

local M = {}

---@type magray.Options|nil
M.options = nil

local augroup = vim.api.nvim_create_augroup("magray", { clear = true })

--- Configure and start magray-lsp for the configured filetypes. Safe to call again.
---@param opts magray.Options|nil
---@return boolean started false when the server executable is missing
function M.setup(opts)
  local cfg = config.resolve(opts)
  M.options = cfg

  local output = require("magray.output")
  output.opts = vim.tbl_extend("force", output.opts, cfg.output)
  local status = require("magray.status")
  status.format_fn = cfg.status.format
  status.busy_icon = cfg.status.busy

  local client = require("magray.client")
  local missing = client.missing_executable(cfg.cmd)
  if missing then
    vim.notify(missing, vim.log.levels.ERROR)
    return false
  end

  vim.api.nvim_clear_autocmds({ group = augroup })
  if cfg.keymaps then
    vim.api.nvim_create_autocmd("LspAttach", {
      group = augroup,
      callback = function(args)
        local attached = vim.lsp.get_client_by_id(args.data.client_id)
        if attached and attached.name == cfg.name then
          require("magray.keymaps").apply(args.buf, cfg.keymaps)
        end
      end,
    })
  end
  client.enable(cfg)
  return true
end

--- Statusline component: "$0.0004 · gpt-4o-mini · month $3.10/$20"; "" before the first request.
---@return string
function M.status()
  return require("magray.status").component()
end

--- The last `magray/status` payload (all fields the server sent), or nil.
function M.last_status()
  return require("magray.status").state.last
end

function M.explain(opts)
  return require("magray.actions").run("explain", opts)
end

function M.document(opts)
  return require("magray.actions").run("document", opts)
end

--- Refactor; prompts for an instruction when `instruction` is nil ("" means general cleanup).
function M.refactor(instruction, opts)
  return require("magray.actions").refactor(instruction, opts)
end

--- Run an action by name: "fix", "tests", a custom action, or a built-in (see :Magray).
function M.run(name, opts)
  return require("magray.actions").run_named(name, opts)
end

function M.usage()
  return require("magray.actions").usage()
end

function M.dashboard()
  return require("magray.actions").dashboard()
end

function M.clear_cache()
  return require("magray.actions").clear_cache()
end

function M.cancel()
  return require("magray.actions").cancel()
end

function M.toggle_output()
  return require("magray.output").toggle()
end

return M
