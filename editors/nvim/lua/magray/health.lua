--- :checkhealth magray — executable, version, running clients, config files.
local M = {}

local health = vim.health

--- argv that prints the server's version: `cmd` without its `serve` plus `--version`.
function M.version_argv(cmd)
  local argv = vim.deepcopy(cmd)
  if argv[#argv] == "serve" then
    argv[#argv] = nil
  end
  argv[#argv + 1] = "--version"
  return argv
end

local function check_neovim()
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()) .. " (vim.lsp.config / vim.lsp.enable)")
  elseif vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()) .. " (vim.lsp.start from a FileType autocmd)")
  else
    health.error("Neovim 0.10 or newer is required", { "Upgrade Neovim" })
  end
end

local function check_executable(cmd)
  if type(cmd) == "function" then
    health.info("`cmd` is a function (custom transport): not checked")
    return
  end
  local exe = cmd[1]
  local path = vim.fn.exepath(exe)
  if path == "" then
    health.error(("`%s` not found"):format(exe), {
      "Install the server: `pipx install magray-lsp` (or `pip install magray-lsp` in a virtualenv)",
      "Or point setup{ cmd = { '/path/to/magray-lsp', 'serve' } } at it",
    })
    return
  end
  health.ok(("`%s` found: %s"):format(exe, path))
  local ok, proc = pcall(vim.system, M.version_argv(cmd), { text = true })
  if not ok then
    health.error("could not run " .. exe .. ": " .. tostring(proc))
    return
  end
  local result = proc:wait(15000)
  local out = vim.trim((result.stdout or "") .. (result.stderr or ""))
  if result.code == 0 and out:match("magray%-lsp") then
    health.ok("version: " .. out)
  else
    health.warn(("`%s` did not report a version (exit %s): %s"):format(table.concat(M.version_argv(cmd), " "), tostring(result.code), out))
  end
end

local function check_clients(name)
  local clients = vim.lsp.get_clients({ name = name })
  if #clients == 0 then
    health.info("no magray-lsp client running (it starts when a buffer of a configured filetype opens)")
    return
  end
  for _, client in ipairs(clients) do
    local bufs = vim.tbl_keys(client.attached_buffers or {})
    health.ok(("client %d running, root %s, attached to %d buffer%s"):format(
      client.id,
      client.root_dir or "(none: single-file mode)",
      #bufs,
      #bufs == 1 and "" or "s"
    ))
  end
  local alt = vim.fn.bufnr("#")
  if alt > 0 and vim.api.nvim_buf_is_valid(alt) then
    local here = vim.lsp.get_clients({ name = name, bufnr = alt })
    if #here == 0 and vim.bo[alt].buftype == "" then
      health.warn(("not attached to the buffer you came from (%s, filetype `%s`)"):format(
        vim.fn.fnamemodify(vim.api.nvim_buf_get_name(alt), ":~:."),
        vim.bo[alt].filetype
      ), { "Add its filetype to setup{ filetypes = {...} }" })
    end
  end
end

local function check_config_files(name)
  local roots = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = name })) do
    if client.root_dir then
      roots[#roots + 1] = client.root_dir
    end
  end
  roots[#roots + 1] = vim.uv.cwd()
  local found = {}
  for _, root in ipairs(roots) do
    for _, file in ipairs(vim.fs.find(".magray.toml", { upward = true, path = root, limit = 1 })) do
      found[file] = true
    end
  end
  for file in pairs(found) do
    health.ok("workspace config: " .. file)
  end
  local xdg = vim.env.XDG_CONFIG_HOME
  if not xdg or xdg == "" then
    xdg = vim.fs.joinpath(vim.uv.os_homedir() or "~", ".config")
  end
  local user = vim.fs.joinpath(xdg, "magray", "config.toml")
  if vim.uv.fs_stat(user) then
    health.ok("user config: " .. user)
    found[user] = true
  end
  if next(found) == nil then
    health.warn("no .magray.toml in the workspace and no " .. user, {
      "Without one the server only has its defaults (providers whose API keys are in the environment, and the local model)",
      "Run `magray-lsp doctor` in the project to see what it would use",
    })
  else
    health.info("`magray-lsp doctor` checks keys and provider reachability")
  end
end

function M.check()
  health.start("magray")
  check_neovim()
  local magray = require("magray")
  local opts = magray.options
  if opts == nil then
    health.warn("require('magray').setup() has not been called", { "Call it from your config; see :help magray" })
    opts = require("magray.config").resolve({})
  else
    health.ok("setup() called; filetypes: " .. table.concat(opts.filetypes, ", "))
  end
  check_executable(opts.cmd)
  check_clients(opts.name)
  check_config_files(opts.name)
end

return M
