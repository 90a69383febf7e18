# The middle of the mcxt pipeline (layout -> walker -> analyses -> report) as
# a static library, so the tool and the tests link the same code.  Included
# by tools/mcxt/CMakeLists.txt and, when that does not define it, by
# test/walk/CMakeLists.txt.  Reads src/chunk.h only (no link to libmcxt).
if(NOT TARGET mcxt_forensics)
  set(_mcxt_forensics_dir ${CMAKE_CURRENT_LIST_DIR})
  add_library(mcxt_forensics STATIC
    ${_mcxt_forensics_dir}/layout_mcxt.c
    ${_mcxt_forensics_dir}/layout_pg.c
    ${_mcxt_forensics_dir}/layout_pg16.c
    ${_mcxt_forensics_dir}/layout_gp.c
    ${_mcxt_forensics_dir}/walk.c
    ${_mcxt_forensics_dir}/analyze.c
    ${_mcxt_forensics_dir}/report.c
    ${_mcxt_forensics_dir}/sitemap.c)
  target_include_directories(mcxt_forensics PUBLIC ${_mcxt_forensics_dir})
  set_target_properties(mcxt_forensics PROPERTIES POSITION_INDEPENDENT_CODE ON)
endif()
